"""Revisions that reach a note already sounding (issue 24): its note-on was sent, its note-off is still
queued. The note keeps its note-off (no hanging note); a note not yet started goes whole, on and off
(no orphan note-off left to cut a later note of its key short). A scheduler, queue, offline sender,
router and in-memory sink on a virtual clock; no threads."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from engine_helpers import assert_no_hanging_notes

from encore.engine.clock import MusicalClock, VirtualClock
from encore.engine.event_queue import EventQueue
from encore.engine.midi import MidiEvent, note_off, note_on
from encore.engine.revisions import Revisions
from encore.engine.router import Router
from encore.engine.scheduler import Scheduler
from encore.engine.sender import Sender
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent

PHRASE = [NoteEvent(0.0, 48, 90, 3.0), NoteEvent(1.0, 60, 80, 0.5), NoteEvent(2.0, 62, 80, 0.5),
          NoteEvent(3.0, 64, 80, 0.5)]
"""One bar: a long bass note under three short ones. At 120 bpm a beat is half a second."""


class Stage:
    """The engine's path from notes to a sink, driven by hand on a virtual clock.

    Attributes:
        left_queue: Every event the sender took off the queue, before the router filtered any (the
            router silently swallows a note-off for a silent key, so an orphan shows only here).
    """

    def __init__(self, bpm: float = 120.0) -> None:
        self.clock = MusicalClock(bpm)
        self.now = VirtualClock()
        self.queue = EventQueue()
        self.scheduler = Scheduler(self.clock, self.queue)
        self.sink = MemorySink()
        self.router = Router([self.sink])
        self.left_queue: list[MidiEvent] = []
        self.sender = Sender(self.queue, self._dispatch, now=self.now)

    def schedule(self, voice: Voice, notes: Sequence[NoteEvent]) -> None:
        """Queue `notes` of `voice` at the clock's time."""
        self.scheduler.schedule(voice.name, voice.channel, notes, self.now())

    def play_to(self, seconds: float) -> None:
        """Move the clock to `seconds` and send everything due by then."""
        self.now.set(seconds)
        self.sender.pump(self.now())

    def _dispatch(self, event: MidiEvent) -> bool:
        self.left_queue.append(event)
        return self.router.dispatch(event)


def keyed(events: Sequence[MidiEvent], pitch: int) -> list[tuple[str, float]]:
    """`("on" | "off", beat)` of every note event of `pitch`, in order."""
    return [("on" if e.is_note_on else "off", e.beat) for e in events
            if (e.is_note_on or e.is_note_off) and e.message[1] == pitch]


def assert_each_note_closed_once(events: Sequence[MidiEvent]) -> None:
    """Per key, note-ons and note-offs strictly alternate from a note-on and end released: no note-off
    without its note-on, no note-on without exactly one note-off."""
    state: dict[tuple[int, int], list[str]] = defaultdict(list)
    for event in events:
        if event.is_note_on or event.is_note_off:
            state[(event.channel, event.message[1])].append("on" if event.is_note_on else "off")
    for key, kinds in state.items():
        assert kinds == ["on", "off"] * (len(kinds) // 2) and len(kinds) % 2 == 0, f"key {key}: {kinds}"


def test_a_revision_while_a_note_sounds_keeps_its_note_off_and_withdraws_the_notes_not_started() -> None:
    """At beat 1.2 the bass (from 0) and the note at beat 1 sound. A revision from beat 1 (computed just
    before the sender sent that note) takes back the notes at 2 and 3, on and off, and leaves the
    sounding one alone: it ends at beat 1.5, the bass at 3, and nothing hangs."""
    stage, voice = Stage(), PatternVoice("keys", 0, PHRASE, 4.0)
    revisions = Revisions(stage.scheduler)
    stage.schedule(voice, voice.render(4.0))
    stage.play_to(0.6)
    assert stage.router.sounding() == [(0, 48), (0, 60)]

    revoked = revisions.ask(voice, 1.0)
    assert revoked == PHRASE[2:]  # the sounding note is not taken back
    stage.play_to(5.0)

    for events in (stage.sink.events, stage.left_queue):
        assert keyed(events, 48) == [("on", 0.0), ("off", 3.0)]
        assert keyed(events, 60) == [("on", 1.0), ("off", 1.5)]
        assert keyed(events, 62) == [] and keyed(events, 64) == []  # withdrawn, note-off included
    assert_no_hanging_notes(stage.sink.events)
    assert_each_note_closed_once(stage.left_queue)
    assert stage.router.sounding() == []


def test_a_withdrawn_note_leaves_no_note_off_to_cut_its_replacement_short() -> None:
    """A reseed from beat 2 replaces the note at 2 (62, to beat 2.5) with a longer 62 (to beat 3.5). The
    old note goes whole: no note-off of it is left at beat 2.5 to silence the new one early."""
    stage, voice = Stage(), PatternVoice("keys", 0, PHRASE, 4.0)
    revisions = Revisions(stage.scheduler)
    stage.schedule(voice, voice.render(4.0))
    stage.play_to(0.6)

    assert revisions.ask(voice, 2.0, seed=(NoteEvent(0.0, 62, 80, 1.5),)) == PHRASE[2:]
    settled = revisions.settle(voice, voice.render(4.0))  # the engine's next render, as `Engine._schedule`
    assert settled.void_from == 2.0 and settled.released == []
    assert settled.fresh == [NoteEvent(2.0, 62, 80, 1.5)]
    stage.schedule(voice, settled.fresh)
    stage.play_to(5.0)

    assert keyed(stage.sink.events, 62) == [("on", 2.0), ("off", 3.5)]
    assert keyed(stage.left_queue, 62) == [("on", 2.0), ("off", 3.5)]
    assert keyed(stage.left_queue, 64) == []
    assert_each_note_closed_once(stage.left_queue)
    assert_no_hanging_notes(stage.sink.events)


def test_repeated_revisions_send_every_note_once_with_exactly_one_note_off() -> None:
    """Two bars of overlapping notes, revoked every 50 ms from a quarter beat behind the playhead (notes
    the sender got to first sound on) and the withdrawn ones queued again, as a released hold is. What
    leaves the queue is exactly the phrase: each note-on once, each with one note-off, none without."""
    pattern = [NoteEvent(i * 0.5, 60 + i, 90, 0.75) for i in range(8)]
    stage, voice = Stage(), PatternVoice("keys", 3, pattern, 4.0)
    notes = voice.render(8.0)
    stage.schedule(voice, notes)
    reached_sounding = 0  # revocations that asked for a note whose note-on was sent
    for tick in range(1, 80):
        now = tick * 0.05
        stage.play_to(now)
        from_beat = max(stage.clock.beat_at(now) - 0.25, 0.0)
        sounding = {pitch for _, pitch in stage.router.sounding()}
        reached_sounding += any(e.is_note_on and e.beat >= from_beat and e.message[1] in sounding
                                for e in stage.left_queue)
        stage.schedule(voice, stage.scheduler.revoke(voice.name, from_beat))
    stage.play_to(10.0)

    assert reached_sounding > 40  # revisions did meet sounding notes
    sent = [(e.message[1], e.beat) for e in stage.left_queue if e.is_note_on]
    assert Counter(sent) == Counter((n.pitch, n.onset_beats) for n in notes)
    offs = Counter((e.message[1], e.beat) for e in stage.left_queue if e.is_note_off)
    assert offs == Counter((n.pitch, n.end_beats) for n in notes)
    assert_each_note_closed_once(stage.left_queue)
    assert_no_hanging_notes(stage.sink.events)
    assert stage.queue.peek_time() is None


def test_unqueue_notes_leaves_a_sent_note_whole_and_takes_a_queued_one_whole() -> None:
    """The queue alone: of two notes, the first's note-on sent, unqueueing both removes only the second,
    with its note-off, and keeps the first's note-off."""
    queue = EventQueue()
    first = (queue.push(MidiEvent(0.5, 1.0, note_off(0, 60), "a")), queue.push(MidiEvent(0.0, 0.0, note_on(0, 60, 90), "a")))
    second = (queue.push(MidiEvent(1.0, 2.0, note_off(0, 62), "a")), queue.push(MidiEvent(0.75, 1.5, note_on(0, 62, 90), "a")))
    with queue.changed:
        sent = queue.pop_due(0.0)
    assert sent is not None and sent.message[1] == 60
    assert queue.unqueue_notes([(first[1], first[0]), (second[1], second[0])]) == [False, True]
    assert queue.unqueue_notes([(first[1], first[0])]) == [False]  # asked again: still kept
    left = queue.clear()
    assert [(e.message[1], e.is_note_off) for e in left] == [(60, True)]
