"""A tap on one voice's rendered notes, so another voice can listen (the drums following the piano).

The engine publishes what a voice rendered (`Voice.render`) into the voice's `tap`, from that voice's
worker thread, before the notes are scheduled; a listening voice reads a span of beats from its own
worker thread. Both sides take the tap's lock, so a reader sees whole renders only. The tap keeps the
last `keep_beats` beats before what was rendered, enough for a listener a window or two behind.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from encore.models.notes import NoteEvent

KEEP_BEATS = 32.0


class NoteTap:
    """Notes one voice rendered, in show beats, readable from any thread.

    Args:
        keep_beats: Notes with onsets this far before the rendered position are forgotten.
    """

    def __init__(self, keep_beats: float = KEEP_BEATS) -> None:
        self.keep_beats = keep_beats
        self._lock = threading.Lock()
        self._notes: list[NoteEvent] = []
        self._position = 0.0

    @property
    def position_beats(self) -> float:
        """Show beat up to which the tapped voice has rendered (its notes before it are final)."""
        with self._lock:
            return self._position

    def publish(self, notes: Sequence[NoteEvent], position_beats: float) -> None:
        """Add a render's notes; the tapped voice has rendered up to `position_beats`."""
        with self._lock:
            horizon = position_beats - self.keep_beats
            self._notes = [note for note in [*self._notes, *notes] if note.onset_beats >= horizon]
            self._position = max(self._position, position_beats)

    def retract(self, from_beat: float) -> None:
        """Take back the notes from `from_beat` on: the tapped voice rewound there to render them again."""
        with self._lock:
            self._notes = [note for note in self._notes if note.onset_beats < from_beat]
            self._position = min(self._position, from_beat)

    def read(self, start: float, end: float) -> list[NoteEvent]:
        """Notes with onsets in `[start, end)`, sorted by onset."""
        with self._lock:
            notes = [note for note in self._notes if start <= note.onset_beats < end]
        return sorted(notes, key=lambda note: (note.onset_beats, note.pitch))
