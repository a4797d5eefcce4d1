"""Timed note events in musical time, shared by the decoders, the voices and the engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """One complete note: onset and duration in beats (quarter notes) from the start of its stream."""

    onset_beats: float
    pitch: int
    velocity: int
    duration_beats: float

    @property
    def end_beats(self) -> float:
        """Beat at which the note is released."""
        return self.onset_beats + self.duration_beats
