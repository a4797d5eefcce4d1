"""The thread-safe queue of stamped events between the scheduler and the sender.

Ordered by show time, then by arrival (so a note-off and a note-on at the same instant keep the
scheduler's order: note-offs are scheduled first). The condition wakes the sender whenever an event
arrives that may be due sooner than the one it sleeps for. Each event pushed gets a number that
stays its own through re-timing, so a note can be taken back out (`unqueue_notes`) while unsent.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Sequence

from encore.engine.midi import MidiEvent


class EventQueue:
    """A min-heap of `MidiEvent` by time, shared by the engine (producer) and the sender (consumer)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, MidiEvent]] = []
        self._order = itertools.count()
        self.changed = threading.Condition()

    def push(self, event: MidiEvent) -> int:
        """Add an event and wake the sender; returns the event's number (for `unqueue_notes`)."""
        with self.changed:
            number = next(self._order)
            heapq.heappush(self._heap, (event.time, number, event))
            self.changed.notify()
            return number

    def unqueue_notes(self, notes: Sequence[tuple[int, int]]) -> list[bool]:
        """Remove each note `(note-on number, note-off number)` whose note-on is still queued, with its
        note-off; a note whose note-on was sent keeps its note-off. Returns which notes were removed."""
        with self.changed:
            queued = {number for _, number, _ in self._heap}
            removed = [on in queued for on, _ in notes]
            gone = {number for (on, off), taken in zip(notes, removed, strict=True) if taken for number in (on, off)}
            if gone:
                self._heap = [item for item in self._heap if item[1] not in gone]
                heapq.heapify(self._heap)
            return removed

    def peek_time(self) -> float | None:
        """Time of the earliest event, or None when empty. Call holding `changed`."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, time: float) -> MidiEvent | None:
        """Remove and return the earliest event if it is due at `time`. Call holding `changed`."""
        if self._heap and self._heap[0][0] <= time:
            return heapq.heappop(self._heap)[2]
        return None

    def retime(self, from_beat: float, time_at: Callable[[float], float]) -> None:
        """Re-stamp every event at or after `from_beat` with `time_at(beat)` (after a tempo change)."""
        with self.changed:
            self._heap = [
                (time_at(event.beat), order, _with_time(event, time_at(event.beat)))
                if event.beat >= from_beat
                else (time, order, event)
                for time, order, event in self._heap
            ]
            heapq.heapify(self._heap)
            self.changed.notify()

    def drop_track(self, track: str) -> None:
        """Remove every event of `track` (a voice that failed)."""
        with self.changed:
            self._heap = [item for item in self._heap if item[2].track != track]
            heapq.heapify(self._heap)

    def clear(self) -> list[MidiEvent]:
        """Remove and return every event."""
        with self.changed:
            events = [item[2] for item in sorted(self._heap)]
            self._heap.clear()
            return events


def _with_time(event: MidiEvent, time: float) -> MidiEvent:
    return MidiEvent(time, event.beat, event.message, event.track)
