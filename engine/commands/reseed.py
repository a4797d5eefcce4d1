"""`Reseed` (wire `reseed`): re-prime a voice with a MIDI file or a phrase at its next bar line (after the
commit horizon for a voice that can render again, else after what it has rendered)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encore.engine.commands.checks import check_voice_name, find_voice, is_number
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.seed_file import check_seed
from encore.engine.voices.base import Seed
from encore.engine.voices.drums import DrumVoice
from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent


@dataclass(frozen=True)
class Reseed(Command, wire="reseed"):
    """Re-prime a voice with a new seed (a MIDI file or a phrase) at its next bar line.

    A phrase is kept as a tuple of notes (so equal commands compare equal).
    """

    seed: Seed = wire_field("seed")
    voice: str = wire_field("name", "piano")

    def __post_init__(self) -> None:
        if not isinstance(self.seed, Path | str):
            object.__setattr__(self, "seed", tuple(self.seed))

    def check_values(self) -> None:
        check_voice_name(self.voice)
        _check_seed_value(self.seed)

    def check(self, show: ShowControl) -> None:
        voice = find_voice(show.voices, self.voice)
        if isinstance(voice, DrumVoice):
            raise CommandError(f"voice {self.voice} takes no seed; send SetGroove")
        if isinstance(self.seed, Path):
            try:
                check_seed(self.seed)
            except EncoreError as error:
                raise CommandError(str(error)) from None

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        voice = show.voices[self.voice]
        if at_beat is None and show.horizon.revises(voice):
            beat = show.clock.next_bar_line(show.horizon.commit_beat())
            show.horizon.revise(voice, beat, self.seed)
        else:
            beat = at_beat if at_beat is not None else show.clock.next_bar_line(voice.position_beats)
            voice.reprime(self.seed, beat)
        show.latency.mark(asked, voice.name, beat)


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
        if not (is_number(note.onset_beats) and note.onset_beats >= 0):
            raise CommandError(f"seed[{i}].onset_beats: must be a number >= 0")
        if not (is_number(note.duration_beats) and note.duration_beats > 0):
            raise CommandError(f"seed[{i}].duration_beats: must be a number > 0")
        if not (isinstance(note.pitch, int) and 0 <= note.pitch <= 127):
            raise CommandError(f"seed[{i}].pitch: must be an integer 0-127")
        if not (isinstance(note.velocity, int) and 1 <= note.velocity <= 127):
            raise CommandError(f"seed[{i}].velocity: must be an integer 1-127")
