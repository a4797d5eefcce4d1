"""The engine's command interface: every control surface (UI, MQTT, MIDI controllers) sends these.

`Engine.submit(command)` is thread-safe, never blocks and returns a `CommandTicket`
(`encore.engine.results`) that resolves to `Applied` or `Rejected(reason)`. Commands are applied by
the engine between two renders, and a voice reads new controls between two tokens. When each takes
effect:

| command       | wire name  | takes effect                                                   |
| ------------- | ---------- | -------------------------------------------------------------- |
| `SetTempo`    | `tempo`    | at the next whole beat after the playhead; queued events are re-timed |
| `SetSampling` | `sampling` | from the commit horizon (100 ms ahead), or the piano's first onset from 50 ms ahead it can render again in time: what is rendered from there is re-rendered |
| `Mute`/`Solo` | `mute`/`solo` | at the next note-on sent                                    |
| `Reseed`      | `reseed`   | at the first bar line at or after the commit horizon            |
| `SetGroove`   | `groove`   | from the commit horizon: the drum window holding it is decoded again |
| `Next`        | `next`     | at the first bar line at or after what every voice has rendered: the next song's tempo, seed and sampling, later songs move up |
| `Previous`    | `previous` | like `Next`, to the song before the one sounding there (its commands applied again) |
| `Record`      | `record`   | now: pause (`on` false: the recording's sounding notes end) or resume the `--record` file |
| `Stop`        | `stop`     | now: sounding notes are released, the show ends                |
| `Panic`       | `panic`    | now: queued events are dropped, sounding notes released, the show goes on |
| `SetPerformer`| `performer`| now: how a performer's notes reach the voices (`encore.engine.performer`) |
| `PerformerNote`| `note`    | now: a performer's key at its show beat (velocity 0 releases it): recorded, and heard per the mode |
| `Respond`     | `respond`  | call and response: the piano continues the phrase just played from the next beat after the commit horizon |

Validation happens once: `check_values` (here) checks what a command says on its own (ranges, via
`SamplingConfig` for sampling settings), `Engine.check` adds what depends on the show (the voice
exists and can take the command, the seed file is a readable MIDI file, there is a next song).
Both raise `CommandError`; its one-line message is the `Rejected` reason, the same whether the
engine checks at submission or when it applies the command. The JSON wire format is
`encore.engine.wire`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from encore.engine.voices.base import Seed
from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig

MIN_BPM = 20.0
MAX_BPM = 400.0
"""The tempo range of commands and setlists."""


class CommandError(EncoreError, ValueError):
    """A command (or a wire payload) that cannot be applied; the message is one line saying why.

    Any line breaks in the message (a name quoted from a payload) become spaces.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class SetTempo:
    """Change the tempo (quarter notes per minute)."""

    bpm: float


@dataclass(frozen=True)
class SetSampling:
    """Change sampling settings (`SamplingConfig` fields) of one voice, or all with `voice=None`.

    None leaves a setting as it is; `changes()` gives the ones set.
    """

    voice: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    repetition_window: int | None = None

    @classmethod
    def to(cls, voice: str | None, sampling: SamplingConfig) -> SetSampling:
        """A command that sets every field to `sampling`'s."""
        return cls(voice, **dataclasses.asdict(sampling))

    def changes(self) -> dict[str, float | int]:
        """The settings this command changes."""
        return {name: getattr(self, name) for name in SAMPLING_FIELDS if getattr(self, name) is not None}


@dataclass(frozen=True)
class Mute:
    """Mute (or unmute) a voice."""

    voice: str
    muted: bool = True


@dataclass(frozen=True)
class Solo:
    """Solo (or unsolo) a voice."""

    voice: str
    soloed: bool = True


@dataclass(frozen=True)
class Reseed:
    """Re-prime a voice with a new seed (a MIDI file or a phrase) at its next bar line.

    A phrase is kept as a tuple of notes (so equal commands compare equal).
    """

    seed: Seed
    voice: str = "piano"

    def __post_init__(self) -> None:
        if not isinstance(self.seed, Path | str):
            object.__setattr__(self, "seed", tuple(self.seed))


@dataclass(frozen=True)
class SetGroove:
    """Switch what a drum voice plays (`encore.engine.voices.drums.DrumPart`); None leaves a field as it is.

    Attributes:
        mode: `library`, `pattern` or `follow-piano`.
        groove: A library groove name (`funk-102`) or style (`funk`).
        pattern: Drum name to the 16th steps (0-31) it strikes, for `pattern` mode (kept as a dict of
            tuples, so equal commands compare equal).
        voice: The drum voice.
    """

    mode: str | None = None
    groove: str | None = None
    pattern: Mapping[str, Sequence[int]] | None = None
    voice: str = "drums"

    def __post_init__(self) -> None:
        if isinstance(self.pattern, Mapping):
            object.__setattr__(self, "pattern", {name: tuple(steps) for name, steps in self.pattern.items()})


@dataclass(frozen=True)
class Next:
    """Jump to the setlist's next song at the next bar line not yet rendered."""


@dataclass(frozen=True)
class Previous:
    """Go back to the song before the one sounding, at the next bar line not yet rendered."""


@dataclass(frozen=True)
class Record:
    """Resume (`on`) or pause the show's recording; pausing ends the notes sounding in the file."""

    on: bool = True


@dataclass(frozen=True)
class Stop:
    """End the show."""


@dataclass(frozen=True)
class Panic:
    """Silence everything now and keep playing what is generated next."""


@dataclass(frozen=True)
class SetPerformer:
    """Switch how a performer's notes reach the voices: `off`, `call-response`, `duet` or `drums-follow`."""

    mode: str


@dataclass(frozen=True)
class PerformerNote:
    """A performer's key going down (`velocity` > 0) or up (0) at show `beat` (from `--midi-in`)."""

    pitch: int
    velocity: int
    beat: float


@dataclass(frozen=True)
class Respond:
    """Call and response: the piano continues the phrase the performer just played (a pedal, CC 67)."""


Command = (SetTempo | SetSampling | Mute | Solo | Reseed | SetGroove | Next | Previous | Record | Stop | Panic
           | SetPerformer | PerformerNote | Respond)
COMMAND_TYPES: tuple[type, ...] = (SetTempo, SetSampling, Mute, Solo, Reseed, SetGroove, Next, Previous, Record,
                                   Stop, Panic, SetPerformer, PerformerNote, Respond)


def check_values(command: object) -> None:
    """Check what a command says on its own (types, ranges); the show-dependent part is `Engine.check`.

    Raises:
        CommandError: naming the field and the rule, in one line.
    """
    match command:
        case SetTempo(bpm=bpm):
            if not _is_number(bpm) or not MIN_BPM <= bpm <= MAX_BPM:
                raise CommandError(f"bpm: must be between {MIN_BPM:g} and {MAX_BPM:g}, got {bpm!r}")
        case SetSampling():
            _check_voice_name(command.voice, optional=True)
            for name, value in command.changes().items():
                if not _is_number(value) or (name == "repetition_window" and not isinstance(value, int)):
                    raise CommandError(f"{name}: must be a number, got {value!r}")
            try:
                SamplingConfig().changed(**command.changes())
            except ValueError as error:
                raise CommandError(str(error)) from None
        case Mute(voice=voice, muted=flag) | Solo(voice=voice, soloed=flag):
            _check_voice_name(voice)
            if not isinstance(flag, bool):
                raise CommandError(f"{'muted' if isinstance(command, Mute) else 'soloed'}: must be true or false")
        case Reseed(seed=seed, voice=voice):
            _check_voice_name(voice)
            _check_seed_value(seed)
        case SetGroove(mode=mode, groove=groove, pattern=pattern, voice=voice):
            from encore.engine.voices.drums import DEFAULT_GROOVE, DrumPart

            _check_voice_name(voice)
            if groove is not None and (not isinstance(groove, str) or not groove):
                raise CommandError(f"groove: must be a groove name or style, got {groove!r}")
            try:
                DrumPart(mode if mode is not None else "library", DEFAULT_GROOVE, pattern or {})
            except (ValueError, TypeError, AttributeError) as error:
                raise CommandError(f"pattern: must map drum names to 16th steps ({error})"
                                   if not isinstance(error, ValueError) else str(error)) from None
        case Record(on=on):
            if not isinstance(on, bool):
                raise CommandError("on: must be true or false")
        case SetPerformer(mode=mode):
            from encore.engine.performer import MODES

            if mode not in MODES:
                raise CommandError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
        case PerformerNote(pitch=pitch, velocity=velocity, beat=beat):
            if not (isinstance(pitch, int) and 0 <= pitch <= 127):
                raise CommandError("pitch: must be an integer 0-127")
            if not (isinstance(velocity, int) and 0 <= velocity <= 127):
                raise CommandError("velocity: must be an integer 0-127 (0 releases the key)")
            if not _is_number(beat):
                raise CommandError("beat: must be a finite number")
        case Next() | Previous() | Stop() | Panic() | Respond():
            pass
        case _:
            raise CommandError(f"not a command: {type(command).__name__}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_voice_name(voice: object, optional: bool = False) -> None:
    if voice is None and optional:
        return
    if not isinstance(voice, str) or not voice:
        raise CommandError(f"voice: must be a voice name, got {voice!r}")


def _check_seed_value(seed: object) -> None:
    if isinstance(seed, Path):
        return
    if isinstance(seed, str) or not isinstance(seed, tuple):
        raise CommandError("seed: must be a MIDI file path or a phrase of notes")
    if not seed:
        raise CommandError("seed: a phrase needs at least one note")
    for i, note in enumerate(seed):
        if not isinstance(note, NoteEvent):
            raise CommandError(f"seed[{i}]: must be a note")
        if not (_is_number(note.onset_beats) and note.onset_beats >= 0):
            raise CommandError(f"seed[{i}].onset_beats: must be a number >= 0")
        if not (_is_number(note.duration_beats) and note.duration_beats > 0):
            raise CommandError(f"seed[{i}].duration_beats: must be a number > 0")
        if not (isinstance(note.pitch, int) and 0 <= note.pitch <= 127):
            raise CommandError(f"seed[{i}].pitch: must be an integer 0-127")
        if not (isinstance(note.velocity, int) and 1 <= note.velocity <= 127):
            raise CommandError(f"seed[{i}].velocity: must be an integer 1-127")
