"""Notes in show beats to stamped MIDI events, with the underrun policy.

Underrun policy (docs/engine.md): a render whose notes arrive after their onset time counts one
underrun. Each late note is *shifted* to sound now if it is late by at most `max_shift_s` and still
has at least `min_note_s` to sound before its scheduled end; otherwise it is *dropped*. The grid is
never moved: every other note, and every shifted note's end, keeps its scheduled time, so a late
voice costs notes, never time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from encore.engine.clock import MusicalClock
from encore.engine.event_queue import EventQueue
from encore.engine.midi import MidiEvent, note_off, note_on
from encore.models.notes import NoteEvent

MIN_DURATION_BEATS = 1 / 64


@dataclass(frozen=True)
class LatePolicy:
    """How late notes are treated.

    Attributes:
        max_shift_s: A note later than this is dropped.
        min_note_s: A shifted note must still sound at least this long, or it is dropped.
    """

    max_shift_s: float = 0.1
    min_note_s: float = 0.05


@dataclass
class ScheduleCounts:
    """Running totals of what the scheduler did."""

    notes: int = 0
    shifted: int = 0
    dropped: int = 0
    underruns: int = 0


class Scheduler:
    """Stamps notes with show times from the clock and pushes them onto the queue.

    Args:
        clock: The musical clock (beats to show seconds).
        queue: Where stamped events go.
        policy: The late-note policy.
    """

    def __init__(self, clock: MusicalClock, queue: EventQueue, policy: LatePolicy | None = None) -> None:
        self.clock = clock
        self.queue = queue
        self.policy = policy or LatePolicy()
        self.counts = ScheduleCounts()

    def schedule(self, track: str, channel: int, notes: Iterable[NoteEvent], now: float) -> list[tuple[float, float]]:
        """Queue note-on/note-off pairs for `notes`; returns `(onset beat, onset time)` of the notes kept.

        Args:
            track: Voice name.
            channel: MIDI channel.
            notes: Notes with onsets in show beats.
            now: Current show time in seconds (what "late" is measured against).
        """
        onsets: list[tuple[float, float]] = []
        late_render = False
        for note in notes:
            self.counts.notes += 1
            end_beat = note.onset_beats + max(note.duration_beats, MIN_DURATION_BEATS)
            on_time, off_time = self.clock.time_at(note.onset_beats), self.clock.time_at(end_beat)
            on_beat = note.onset_beats
            if on_time < now:
                late_render = True
                if now - on_time > self.policy.max_shift_s or off_time - now < self.policy.min_note_s:
                    self.counts.dropped += 1
                    continue
                self.counts.shifted += 1
                on_time, on_beat = now, self.clock.beat_at(now)
            self.queue.push(MidiEvent(off_time, end_beat, note_off(channel, note.pitch), track))
            self.queue.push(MidiEvent(on_time, on_beat, note_on(channel, note.pitch, note.velocity), track))
            onsets.append((note.onset_beats, on_time))
        self.counts.underruns += late_render
        return onsets
