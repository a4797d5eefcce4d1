"""Phrase capture: notes played on the input become the next seed, continued by the piano at a bar line.

Design (set in the mapping's `[capture]` table, `encore.stage.controllers.mapping.CaptureSettings`):

- `arm = "button"`: the `capture` control arms capture (pressing it again before any note disarms).
  Every note started after arming and finished before the phrase ends is captured. The phrase ends
  when `capture` is pressed again, or `silence_s` after the last key is released.
- `arm = "silence"`: always armed; a phrase is whatever is played between two silences of `silence_s`.

A finished phrase with at least `min_notes` notes (the surface drops shorter ones, saying so) is sent as `Reseed` (wire `reseed` with a phrase) to
the capture's voice, which re-primes at its next bar line and continues from it. Onsets are kept
relative to the bar line at or before the first note, so a pickup stays a pickup. Silence is measured
in show seconds (a `tick` from the surface), so the state machine needs no clock of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from encore.engine.wire import MAX_PHRASE_NOTES
from encore.models.notes import NoteEvent
from encore.stage.controllers.mapping import CaptureSettings
from encore.stage.controllers.performer import PlayedNote

MIN_DURATION_BEATS = 1.0 / 32.0
"""Shortest note a phrase keeps (a key tapped faster still sounds as a 128th)."""

CaptureState = Literal["idle", "armed", "recording"]


class PhraseCapture:
    """The capture state machine: idle, armed (waiting for a note), recording.

    Args:
        settings: How capture arms and ends.
    """

    def __init__(self, settings: CaptureSettings) -> None:
        self.settings = settings
        self._notes: list[PlayedNote] = []
        self._armed_at: float | None = None
        self.state: CaptureState = "idle"
        if settings.arm == "silence":
            self._arm(-math.inf)

    @property
    def notes(self) -> int:
        """Notes captured so far in this phrase."""
        return len(self._notes)

    def press(self, now_s: float) -> tuple[PlayedNote, ...] | None:
        """The `capture` control: arm when idle, disarm when armed, finish the phrase when recording."""
        if self.state == "idle":
            self._arm(now_s)
        elif self.state == "armed" and self.settings.arm == "button":
            self.state, self._armed_at = "idle", None
        elif self.state == "recording":
            return self._finish()
        return None

    def add(self, note: PlayedNote) -> None:
        """A note the performer finished: kept when armed (and started after arming)."""
        if self.state == "idle" or self._armed_at is None or note.start.seconds < self._armed_at:
            return
        self._notes.append(note)
        del self._notes[:-MAX_PHRASE_NOTES]
        self.state = "recording"

    def tick(self, now_s: float, quiet_since_s: float | None) -> tuple[PlayedNote, ...] | None:
        """The finished phrase once `silence_s` has passed since the last release (None otherwise).

        Args:
            now_s: Show seconds now.
            quiet_since_s: When the last key was released with none held (None while a key is held).
        """
        if self.state != "recording" or quiet_since_s is None or now_s - quiet_since_s < self.settings.silence_s:
            return None
        return self._finish()

    def _arm(self, now_s: float) -> None:
        self.state, self._armed_at, self._notes = "armed", now_s, []

    def _finish(self) -> tuple[PlayedNote, ...] | None:
        notes, self._notes = tuple(self._notes), []
        if self.settings.arm == "silence":
            self._arm(-math.inf)
        else:
            self.state, self._armed_at = "idle", None
        return notes


def phrase_notes(played: Sequence[PlayedNote], bar_beats: float) -> tuple[NoteEvent, ...]:
    """A captured phrase as a seed: onsets in beats from the bar line at or before its first note, by onset."""
    ordered = sorted(played, key=lambda note: (note.start.beats, note.pitch))
    if not ordered:
        return ()
    origin = math.floor(ordered[0].start.beats / bar_beats + 1e-9) * bar_beats
    return tuple(NoteEvent(note.start.beats - origin, note.pitch, max(1, note.velocity),
                           max(note.duration_beats, MIN_DURATION_BEATS)) for note in ordered)
