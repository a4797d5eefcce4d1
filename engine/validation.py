"""The one validation of a command against a show: what `Engine.check` runs at submission and again
when the engine applies the command, so the reason for a rejection is the same text either way.

`control.check_values` checks what a command says on its own; this adds what depends on the show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from encore.engine.control import (
    Command,
    CommandError,
    Mute,
    Next,
    Panic,
    Previous,
    Reseed,
    SetGroove,
    SetPerformer,
    SetSampling,
    SetTempo,
    Solo,
    Stop,
    check_values,
)
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import DrumVoice
from encore.models.errors import EncoreError


def check_command(command: Command, voices: Mapping[str, Voice], next_target: Callable[[int], object]) -> None:
    """Check `command` against a show's `voices`; `next_target(step)` is the engine's own check of `Next`
    (step 1) and `Previous` (step -1).

    Raises:
        CommandError: why the command cannot be applied, in one line.
    """
    check_values(command)
    match command:
        case SetSampling(voice=None) | SetTempo() | Stop() | Panic():
            pass
        case SetSampling(voice=name) | Mute(voice=name) | Solo(voice=name):
            find_voice(voices, name)
        case Reseed(seed=seed, voice=name):
            voice = find_voice(voices, name)
            if isinstance(voice, DrumVoice):
                raise CommandError(f"voice {name} takes no seed; send SetGroove")
            if isinstance(seed, Path):
                from encore.engine.setlist import check_seed

                try:
                    check_seed(seed)
                except EncoreError as error:
                    raise CommandError(str(error)) from None
        case SetGroove(voice=name, mode=mode, groove=groove, pattern=pattern):
            drums = find_voice(voices, name)
            if not isinstance(drums, DrumVoice):
                raise CommandError(f"voice {name} is not a drum voice")
            try:
                drums.check_part(mode, groove, pattern)
            except ValueError as error:
                raise CommandError(str(error)) from None
        case Next() | Previous():
            next_target(-1 if isinstance(command, Previous) else 1)
        case SetPerformer(mode=mode):
            from encore.engine.performer import check_mode

            check_mode(mode, voices)


def find_voice(voices: Mapping[str, Voice], name: str) -> Voice:
    """The voice called `name`.

    Raises:
        CommandError: naming the voices there are.
    """
    voice = voices.get(name)
    if voice is None:
        raise CommandError(f"voice: no voice named {name!r} (voices: {', '.join(voices)})")
    return voice
