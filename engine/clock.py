"""The musical clock: tempo and time signature mapped onto show time, plus the clocks it can run on.

Show time is seconds since the show's origin; a beat is a quarter note. The tempo map is a list of
segments, each anchored at a beat and the show time of that beat, so every beat's time is computed
from its segment's anchor and never accumulated: an hour-long show does not drift. A tempo change
starts a new segment at a beat at or after the playhead and leaves every earlier beat where it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from encore.engine.midi import TIME_SIGNATURE_DENOMINATORS
from encore.models.errors import EncoreError

SECONDS_PER_MINUTE = 60.0
MIN_BPM = 20.0
MAX_BPM = 400.0
"""The tempo range of commands and setlists."""


def beats_to_seconds(beats: float, bpm: float) -> float:
    """Duration in seconds of `beats` quarter notes at `bpm`."""
    return beats * SECONDS_PER_MINUTE / bpm


def seconds_to_beats(seconds: float, bpm: float) -> float:
    """Quarter notes that pass in `seconds` at `bpm`."""
    return seconds * bpm / SECONDS_PER_MINUTE


def bar_beats(numerator: int, denominator: int) -> float:
    """Length of one bar in quarter notes (6/8 is 3.0, 3/4 is 3.0, 4/4 is 4.0)."""
    return numerator * 4.0 / denominator


def parse_time_signature(text: str) -> tuple[int, int]:
    """`"3/4"` to `(3, 4)`.

    Raises:
        EncoreError: if the text is not `N/D` with a power-of-two denominator MIDI can store.
    """
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise EncoreError(f"time signature {text!r} is not of the form N/D")
    numerator, denominator = int(parts[0]), int(parts[1])
    if numerator < 1 or denominator not in TIME_SIGNATURE_DENOMINATORS:
        raise EncoreError(f"time signature {text!r} is not one MIDI can express")
    return numerator, denominator


class VirtualClock:
    """A settable clock for offline shows and tests: call it for the time, `set`/`advance` to move it."""

    def __init__(self, start: float = 0.0) -> None:
        self._time = start

    def __call__(self) -> float:
        return self._time

    def set(self, time: float) -> None:
        """Move the clock to `time` (never backwards)."""
        self._time = max(self._time, time)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self._time += seconds


@dataclass(frozen=True, slots=True)
class TempoSegment:
    """From `beat` on (at show time `time`), the tempo is `bpm`."""

    beat: float
    time: float
    bpm: float


class MusicalClock:
    """Beats to show time and back under a tempo map, with a fixed time signature.

    Args:
        bpm: Starting tempo in quarter notes per minute.
        time_signature: `(numerator, denominator)`, e.g. `(4, 4)`.
    """

    def __init__(self, bpm: float, time_signature: tuple[int, int] = (4, 4)) -> None:
        if bpm <= 0:
            raise ValueError(f"tempo must be positive, got {bpm}")
        self.time_signature = time_signature
        self.segments: list[TempoSegment] = [TempoSegment(0.0, 0.0, bpm)]

    @property
    def bar_beats(self) -> float:
        """Length of one bar in quarter notes."""
        return bar_beats(*self.time_signature)

    def bpm_at(self, beat: float) -> float:
        """Tempo in force at `beat`."""
        return self._segment_for_beat(beat).bpm

    def time_at(self, beat: float) -> float:
        """Show time in seconds of `beat`."""
        segment = self._segment_for_beat(beat)
        return segment.time + beats_to_seconds(beat - segment.beat, segment.bpm)

    def beat_at(self, time: float) -> float:
        """Show beat at show time `time`."""
        segment = next((s for s in reversed(self.segments) if s.time <= time), self.segments[0])
        return segment.beat + seconds_to_beats(time - segment.time, segment.bpm)

    def set_tempo(self, bpm: float, at_beat: float) -> None:
        """Change the tempo from `at_beat` on; beats before it keep their times.

        Raises:
            ValueError: if `bpm` is not positive or `at_beat` lies before the last change.
        """
        if bpm <= 0:
            raise ValueError(f"tempo must be positive, got {bpm}")
        last = self.segments[-1]
        if at_beat < last.beat:
            raise ValueError(f"tempo change at beat {at_beat} lies before the last one at {last.beat}")
        segment = TempoSegment(at_beat, self.time_at(at_beat), bpm)
        if at_beat == last.beat:
            self.segments[-1] = segment
        else:
            self.segments.append(segment)

    def next_beat(self, beat: float) -> float:
        """First whole beat strictly after `beat`."""
        return math.floor(beat) + 1.0

    def next_bar_line(self, beat: float) -> float:
        """First bar line at or after `beat`."""
        bar = self.bar_beats
        return math.ceil(beat / bar - 1e-9) * bar

    def _segment_for_beat(self, beat: float) -> TempoSegment:
        return next((s for s in reversed(self.segments) if s.beat <= beat), self.segments[0])
