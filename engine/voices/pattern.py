"""A voice that loops a fixed phrase: the click track of a show, and the deterministic twin in tests.

It is revisable: rewinding to a beat just renders the loop again from there (a new phrase from a
`Reseed` included)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from encore.engine.voices.base import Voice, seed_label
from encore.models.notes import NoteEvent

CLICK_PITCHES = (37, 42)  # GM drums: side stick on the downbeat, closed hi-hat on the other beats


def click_pattern(beats_per_bar: int, step_beats: float = 1.0) -> list[NoteEvent]:
    """A one-bar click: accented side stick on the downbeat, hi-hat on every other step."""
    steps = round(beats_per_bar / step_beats)
    return [
        NoteEvent(i * step_beats, CLICK_PITCHES[0] if i == 0 else CLICK_PITCHES[1], 110 if i == 0 else 80, step_beats / 2)
        for i in range(steps)
    ]


class PatternVoice(Voice):
    """Loops `pattern` (onsets in beats within `length_beats`) from beat 0 on.

    Args:
        name: Track name.
        channel: MIDI channel.
        pattern: The phrase to loop; onsets must lie in `[0, length_beats)`.
        length_beats: Loop length in beats.
        program: General MIDI program.
    """

    revisable = True

    def __init__(
        self,
        name: str,
        channel: int,
        pattern: Sequence[NoteEvent],
        length_beats: float,
        program: int = 0,
    ) -> None:
        super().__init__(name, channel, program)
        if length_beats <= 0 or any(not 0 <= note.onset_beats < length_beats for note in pattern):
            raise ValueError("pattern onsets must lie within one loop of positive length")
        self.pattern = sorted(pattern, key=lambda note: note.onset_beats)
        self.length_beats = length_beats
        self._phase_origin = 0.0
        self._position = 0.0

    @property
    def position_beats(self) -> float:
        """Show beat rendered up to."""
        return self._position

    def render_until(self, beat: float) -> list[NoteEvent]:
        """Notes of every loop pass with onsets in `[position_beats, beat)`; then `position_beats = beat`."""
        notes: list[NoteEvent] = []
        pending = self.pending_seed  # read before the revision flag: `revise` sets them the other way round
        if pending is not None and self._position <= pending.at_beat < beat and not self.revision_pending:
            notes += self._loop_notes(self._position, pending.at_beat)
            self._position, self._phase_origin = pending.at_beat, pending.at_beat
            if not isinstance(pending.seed, Path):
                self.pattern = sorted(pending.seed, key=lambda note: note.onset_beats)
                self.seed_name = seed_label(pending.seed)
            self.pending_seed = None
        notes += self._loop_notes(self._position, beat)
        self._position = max(self._position, beat)
        return notes

    def rewind(self, beat: float) -> float | None:
        """Render again from `beat` (if rendered past it)."""
        if beat >= self._position:
            return None
        self._position = beat
        return beat

    def _loop_notes(self, start: float, end: float) -> list[NoteEvent]:
        notes = []
        loop = int((start - self._phase_origin) // self.length_beats)
        while (loop_start := self._phase_origin + loop * self.length_beats) < end:
            for note in self.pattern:
                onset = loop_start + note.onset_beats
                if start <= onset < end:
                    notes.append(NoteEvent(onset, note.pitch, note.velocity, note.duration_beats))
            loop += 1
        return notes
