"""Notes in show beats to stamped MIDI events, with the underrun policy.

Underrun policy (docs/engine.md): a render whose notes arrive after their onset time counts one
underrun. Each late note is *shifted* to sound now if it is late by at most `max_shift_s`; its end
keeps its scheduled time, or, where that leaves it less than `min_note_s` to sound, it sounds
`min_note_s` from now (*held*: a short drum hit a few ms late still sounds). A note later than
`max_shift_s` is *lost*: it would land on a later note of its phrase. Every case is counted, in
total and per voice (`ScheduleCounts`: the show's summary and snapshot show them). The grid is never
moved: every other note keeps its scheduled time, so a late voice costs timing, never time.

Revisions: the scheduler remembers the queue numbers of each voice's notes until they have sounded,
so `revoke` can take the notes from a beat on back out of the queue before they are sent. A note whose
note-on was sent is never taken back: it keeps its note-off and sounds to its end.
"""

from __future__ import annotations

from collections import Counter
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
        max_shift_s: A note later than this is lost (counted as `dropped`); one up to this late is shifted.
        min_note_s: A shifted note sounds at least this long (its end moves later where needed).
    """

    max_shift_s: float = 0.2
    min_note_s: float = 0.05


@dataclass(frozen=True, slots=True)
class QueuedNote:
    """A scheduled note and the queue numbers of its note-on and note-off."""

    note: NoteEvent
    on: int
    off: int
    end_beat: float


@dataclass
class ScheduleCounts:
    """Running totals of what the scheduler did.

    Attributes:
        notes: Notes scheduled (late ones included).
        shifted: Late notes sounded late (`held` among them).
        held: Shifted notes whose end moved later, so they sound `min_note_s`.
        dropped: Late notes lost: later than `max_shift_s`, never sounded.
        underruns: Renders that brought at least one late note.
    """

    notes: int = 0
    shifted: int = 0
    held: int = 0
    dropped: int = 0
    underruns: int = 0

    @property
    def lost(self) -> int:
        """Notes that never sounded because their render came too late (`dropped`)."""
        return self.dropped

    def line(self) -> str:
        """`3 underruns (5 shifted, 1 held, 0 lost)`."""
        return f"{self.underruns} underruns ({self.shifted} shifted, {self.held} held, {self.dropped} lost)"


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
        self.by_track: dict[str, ScheduleCounts] = {}
        self._queued: dict[str, list[QueuedNote]] = {}

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
        playhead = self.clock.beat_at(now)
        queued = [entry for entry in self._queued.get(track, []) if entry.end_beat >= playhead]
        self._queued[track] = queued
        mine = self.by_track.setdefault(track, ScheduleCounts())
        for note in notes:
            self._count(mine, "notes")
            end_beat = note.onset_beats + max(note.duration_beats, MIN_DURATION_BEATS)
            on_time, off_time = self.clock.time_at(note.onset_beats), self.clock.time_at(end_beat)
            on_beat = note.onset_beats
            if on_time < now:
                late_render = True
                if now - on_time > self.policy.max_shift_s:
                    self._count(mine, "dropped")
                    continue
                self._count(mine, "shifted")
                on_time, on_beat = now, self.clock.beat_at(now)
                if off_time - now < self.policy.min_note_s:
                    self._count(mine, "held")
                    off_time = now + self.policy.min_note_s
                    end_beat = self.clock.beat_at(off_time)
            off = self.queue.push(MidiEvent(off_time, end_beat, note_off(channel, note.pitch), track))
            on = self.queue.push(MidiEvent(on_time, on_beat, note_on(channel, note.pitch, note.velocity), track))
            queued.append(QueuedNote(note, on, off, end_beat))
            onsets.append((note.onset_beats, on_time))
        if late_render:
            self._count(mine, "underruns")
        return onsets

    def _count(self, track: ScheduleCounts, what: str) -> None:
        """One more `what` in the totals and in `track`'s counts."""
        for counts in (self.counts, track):
            setattr(counts, what, getattr(counts, what) + 1)

    def onsets(self, track: str, from_beat: float, before_beat: float) -> list[tuple[float, int]]:
        """The distinct onsets of `track`'s queued notes in [`from_beat`, `before_beat`), in order, each
        with how many notes start there."""
        counts = Counter(entry.note.onset_beats for entry in self._queued.get(track, [])
                         if from_beat <= entry.note.onset_beats < before_beat)
        return sorted(counts.items())

    def revoke(self, track: str, from_beat: float) -> list[NoteEvent]:
        """Take `track`'s notes starting at or after `from_beat` out of the queue, where their note-on is
        not sent yet; returns them (in the order scheduled)."""
        entries = self._queued.get(track, [])
        doomed = [entry for entry in entries if entry.note.onset_beats >= from_beat]
        if not doomed:
            return []
        removed = self.queue.unqueue_notes([(entry.on, entry.off) for entry in doomed])
        taken = {id(entry) for entry, gone in zip(doomed, removed, strict=True) if gone}
        self._queued[track] = [entry for entry in entries if id(entry) not in taken]
        return [entry.note for entry in doomed if id(entry) in taken]
