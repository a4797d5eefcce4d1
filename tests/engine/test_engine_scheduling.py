"""The event queue, the late-note policy and the router's no-hanging-notes bookkeeping."""

from __future__ import annotations

from engine_helpers import FailingSink, assert_no_hanging_notes

from encore.engine.clock import MusicalClock
from encore.engine.event_queue import EventQueue
from encore.engine.midi import CC_ALL_NOTES_OFF, CC_SUSTAIN, MidiEvent, control_change, note_off, note_on
from encore.engine.router import Router
from encore.engine.scheduler import LatePolicy, Scheduler
from encore.engine.sinks.base import MemorySink
from encore.models.notes import NoteEvent


def drain(queue: EventQueue) -> list[MidiEvent]:
    with queue.changed:
        events = []
        while (event := queue.pop_due(float("inf"))) is not None:
            events.append(event)
    return events


def test_queue_orders_by_time_then_arrival() -> None:
    queue = EventQueue()
    queue.push(MidiEvent(1.0, 2.0, note_on(0, 60, 90), "a"))
    queue.push(MidiEvent(0.5, 1.0, note_on(0, 62, 90), "a"))
    queue.push(MidiEvent(1.0, 2.0, note_off(0, 61), "a"))
    assert [e.message[1] for e in drain(queue)] == [62, 60, 61]


def test_queue_retime_moves_only_events_from_the_change() -> None:
    clock = MusicalClock(120)
    queue = EventQueue()
    for beat in (1.0, 2.0, 3.0):
        queue.push(MidiEvent(clock.time_at(beat), beat, note_on(0, 60, 90), "a"))
    clock.set_tempo(60, 2.0)
    queue.retime(2.0, clock.time_at)
    assert [e.time for e in drain(queue)] == [0.5, 1.0, 2.0]


def test_scheduler_shifts_slightly_late_notes_and_drops_very_late_ones() -> None:
    clock = MusicalClock(120)  # half a second per beat
    queue = EventQueue()
    scheduler = Scheduler(clock, queue, LatePolicy(max_shift_s=0.1, min_note_s=0.05))
    notes = [NoteEvent(0.0, 60, 90, 4.0), NoteEvent(1.8, 62, 90, 1.0), NoteEvent(3.0, 64, 90, 1.0)]
    kept = scheduler.schedule("a", 0, notes, now=1.0)  # beat 2: the first is 1 s late, the second 0.1 s
    assert scheduler.counts.dropped == 1 and scheduler.counts.shifted == 1 and scheduler.counts.underruns == 1
    assert kept == [(1.8, 1.0), (3.0, 1.5)]
    events = drain(queue)
    assert [(e.time, e.message[0] & 0xF0) for e in events if e.message[1] == 62] == [(1.0, 0x90), (1.4, 0x80)]
    scheduler.schedule("a", 0, [NoteEvent(5.0, 60, 90, 1.0)], now=1.0)
    assert scheduler.counts.underruns == 1


def test_router_retriggers_a_sounding_key_so_sinks_alternate() -> None:
    sink = MemorySink()
    router = Router([sink])
    for event in (note_on(0, 60, 90), note_on(0, 60, 80), note_off(0, 60), note_off(0, 60)):
        router.dispatch(MidiEvent(0.0, 0.0, event, "a"))
    assert [e.message[0] & 0xF0 for e in sink.events] == [0x90, 0x80, 0x90, 0x80]
    assert_no_hanging_notes(sink.events)
    assert router.sounding() == []


def test_router_mute_and_solo_suppress_note_ons_and_their_note_offs() -> None:
    sink = MemorySink()
    router = Router([sink])
    router.set_muted("a", True)
    router.dispatch(MidiEvent(0.0, 0.0, note_on(0, 60, 90), "a"))
    router.dispatch(MidiEvent(0.0, 0.0, note_on(1, 60, 90), "b"))
    router.set_muted("a", False)
    router.dispatch(MidiEvent(1.0, 2.0, note_off(0, 60), "a"))
    router.set_soloed("a", True)
    router.dispatch(MidiEvent(1.0, 2.0, note_on(1, 62, 90), "b"))
    router.dispatch(MidiEvent(1.0, 2.0, note_off(1, 60), "b"))
    assert [(e.channel, e.message[:2]) for e in sink.events] == [(1, (0x91, 60)), (1, (0x81, 60))]


def test_release_ends_sounding_notes_then_resets_channels() -> None:
    sink = MemorySink()
    router = Router([sink])
    router.dispatch(MidiEvent(0.0, 0.0, note_on(0, 60, 90), "a"))
    router.dispatch(MidiEvent(0.0, 0.0, note_on(3, 40, 90), "b"))
    router.release(2.0, 4.0)
    assert sink.events[2:] == [
        MidiEvent(2.0, 4.0, note_off(0, 60), "a"),
        MidiEvent(2.0, 4.0, note_off(3, 40), "b"),
        MidiEvent(2.0, 4.0, control_change(0, CC_SUSTAIN, 0), "a"),
        MidiEvent(2.0, 4.0, control_change(0, CC_ALL_NOTES_OFF, 0), "a"),
        MidiEvent(2.0, 4.0, control_change(3, CC_SUSTAIN, 0), "b"),
        MidiEvent(2.0, 4.0, control_change(3, CC_ALL_NOTES_OFF, 0), "b"),
    ]


def test_a_failing_sink_is_dropped_and_the_others_keep_playing() -> None:
    good, bad = MemorySink(), FailingSink(fail_on=2)
    router = Router([bad, good])
    for pitch in (60, 62, 64):
        router.dispatch(MidiEvent(0.0, 0.0, note_on(0, pitch, 90), "a"))
    assert len(good.events) == 3 and len(bad.received) == 1
    assert router.sinks == [good]
    assert router.failures[0].sink == "failing" and not router.failures[0].reopened


def test_a_failing_sink_that_reopens_gets_the_event_again() -> None:
    bad = FailingSink(fail_on=2, reopenable=True)
    router = Router([bad])
    for pitch in (60, 62, 64):
        router.dispatch(MidiEvent(0.0, 0.0, note_on(0, pitch, 90), "a"))
    assert [e.message[1] for e in bad.received] == [60, 62, 64]
    assert router.failures[0].reopened and router.sinks == [bad]


def test_a_slightly_late_note_with_little_left_is_held_to_the_shortest_note_not_lost() -> None:
    """A drum hit 30 ms late with 10 ms left of its 40 ms is shifted to now and sounds `min_note_s`;
    one 300 ms late is lost. Every case is counted in the totals and for its voice."""
    clock = MusicalClock(120)  # half a second per beat
    queue = EventQueue()
    scheduler = Scheduler(clock, queue, LatePolicy(max_shift_s=0.2, min_note_s=0.05))
    hit, late = NoteEvent(1.94, 36, 100, 0.08), NoteEvent(1.4, 38, 100, 0.08)  # 0.97 s to 1.01 s; 0.7 s
    kept = scheduler.schedule("drums", 9, [hit, late], now=1.0)
    scheduler.schedule("keys", 0, [NoteEvent(3.0, 60, 90, 1.0)], now=1.0)

    assert kept == [(1.94, 1.0)]
    events = [e for e in drain(queue) if e.track == "drums"]
    assert [(round(e.time, 6), e.message[0] & 0xF0, e.message[1]) for e in events] == [(1.0, 0x90, 36), (1.05, 0x80, 36)]
    counts = scheduler.counts
    assert (counts.notes, counts.shifted, counts.held, counts.dropped, counts.lost, counts.underruns) == (3, 1, 1, 1, 1, 1)
    drums, keys = scheduler.by_track["drums"], scheduler.by_track["keys"]
    assert (drums.notes, drums.shifted, drums.held, drums.lost, drums.underruns) == (2, 1, 1, 1, 1)
    assert (keys.notes, keys.shifted, keys.lost, keys.underruns) == (1, 0, 0, 0)
    assert counts.line() == "1 underruns (1 shifted, 1 held, 1 lost)"
