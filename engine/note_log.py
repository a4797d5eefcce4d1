"""The notes actually sent, per voice, for a piano roll: an internal sink the router feeds like any other.

It sees exactly what every output sees (mute and solo applied, re-struck keys, the note-offs of a
panic or a release), so a surface's piano roll shows what sounded. The sender thread writes, any
thread reads; both hold the log's lock only to append or copy.
"""

from __future__ import annotations

import threading
from collections import deque

from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import Sink

Note = tuple[float, int, int, float]
"""`(onset_beats, pitch, velocity, duration_beats)` in show beats."""


class NoteLog(Sink):
    """Keeps, per track, the notes sent whose onsets lie within `keep_beats` of the latest event.

    Args:
        keep_beats: How far back notes are kept.
    """

    kind = "note-log"

    def __init__(self, keep_beats: float) -> None:
        super().__init__("note-log")
        self.keep_beats = keep_beats
        self._lock = threading.Lock()
        self._done: dict[str, deque[Note]] = {}
        self._sounding: dict[tuple[int, int], tuple[str, float, int]] = {}  # key -> track, onset, velocity

    def _send(self, event: MidiEvent) -> None:
        key = (event.channel, event.message[1])
        with self._lock:
            if event.is_note_on:
                self._sounding[key] = (event.track, event.beat, event.message[2])
            elif event.is_note_off and key in self._sounding:
                track, onset, velocity = self._sounding.pop(key)
                notes = self._done.setdefault(track, deque())
                notes.append((onset, key[1], velocity, event.beat - onset))
                while notes and notes[0][0] < event.beat - self.keep_beats:
                    notes.popleft()

    def recent(self, track: str, since_beat: float, now_beat: float) -> tuple[Note, ...]:
        """Notes of `track` with onsets from `since_beat` on, by onset; a note still sounding lasts to `now_beat`."""
        with self._lock:
            done = tuple(self._done.get(track, ()))
            sounding = [(onset, key[1], velocity, max(now_beat - onset, 0.0))
                        for key, (owner, onset, velocity) in self._sounding.items() if owner == track]
        return tuple(sorted(note for note in (*done, *sounding) if note[0] >= since_beat))
