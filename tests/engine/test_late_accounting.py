"""Late notes are counted, never silently lost (issue 24): a voice whose renders sometimes take longer than
its lookahead, on the engine's virtual clock (a render moves the clock on, as a slow render on a busy
machine lets the show move on; offline the voices render in turn, so the steady voice beside it falls
behind too). Every note rendered is sent, on time or shifted, or counted lost, or still queued for after
the show's end; the summary, the report's per-voice counts and the snapshot agree; a voice falling behind
shows as strained."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from engine_helpers import assert_no_hanging_notes, eighths

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.report import ShowReport
from encore.engine.sinks.base import MemorySink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent

SECONDS = 20.0
DELAYS_S = {12: 2.1, 30: 2.6, 45: 3.2}
"""Render number to the seconds it takes: the lookahead is 2 s at 120 bpm, so these bring notes 0.1 to
1.2 s late (a render at the start of the lookahead takes up to half a beat more)."""


class SlowVoice(PatternVoice):
    """A bass note and a short hit every half beat; some renders take `DELAYS_S` on the virtual clock."""

    def __init__(self, clock: VirtualClock) -> None:
        pattern = [NoteEvent(i * 0.5, 40 + i, 90, 0.45) for i in range(4)]
        pattern += [NoteEvent(i * 0.5, 70 + i, 100, 0.04) for i in range(4)]  # 20 ms at 120 bpm
        super().__init__("slow", 2, pattern, 2.0)
        self.clock = clock
        self.renders = 0

    def render_until(self, beat: float) -> list[NoteEvent]:
        self.renders += 1
        self.clock.advance(DELAYS_S.get(self.renders, 0.0))
        return super().render_until(beat)


@dataclass
class Played:
    """The show played once for every test here."""

    engine: Engine
    report: ShowReport
    sink: MemorySink
    snapshots: list[ShowSnapshot]
    slow: SlowVoice
    unsent: list[MidiEvent]
    last_pump_s: float


@pytest.fixture(scope="module")
def played() -> Played:
    """`SECONDS` of the slow voice beside a steady one, a snapshot taken at every tick."""
    clock = VirtualClock()
    sink = MemorySink()
    slow = SlowVoice(clock)
    engine = Engine([slow, eighths("steady", 0)], [sink], EngineConfig(bpm=120.0), now=clock)
    snapshots: list[ShowSnapshot] = []
    unsent: list[MidiEvent] = []
    clear = engine.queue.clear

    def noting_clear() -> list[MidiEvent]:  # what the show's end leaves in the queue
        unsent.extend(events := clear())
        return events

    engine.queue.clear = noting_clear  # type: ignore[method-assign]
    ticks: list[float] = []
    report = engine.run_offline(SECONDS, on_tick=lambda at: (ticks.append(at), snapshots.append(engine.snapshot())))
    return Played(engine, report, sink, snapshots, slow, unsent, ticks[-1])


def test_every_late_note_is_shifted_held_or_counted_lost(played: Played) -> None:
    report, sink, slow = played.report, played.sink, played.slow
    slow_counts, steady = report.by_voice["slow"], report.by_voice["steady"]

    assert slow.renders > max(DELAYS_S)
    assert slow_counts.underruns >= len(DELAYS_S) and slow_counts.shifted > 0 and slow_counts.held > 0 and slow_counts.lost > 0
    for track, counts in report.by_voice.items():  # sent, or counted lost: nothing else
        sent = sum(1 for e in sink.events if e.is_note_on and e.track == track)
        left = sum(1 for e in played.unsent if e.is_note_on and e.track == track)  # due after the show's end
        assert sent + left == counts.notes - counts.lost, track
    total = report.counts
    for field in ("notes", "underruns", "shifted", "held", "dropped"):
        assert getattr(total, field) == getattr(slow_counts, field) + getattr(steady, field), field
    assert all(e.time > played.last_pump_s for e in played.unsent)
    assert report.notes_sent == total.notes - total.lost - sum(e.is_note_on for e in played.unsent)
    assert f"{total.underruns} underruns ({total.shifted} shifted, {total.held} held, {total.lost} lost)" in report.summary()
    assert f"slow late: {slow_counts.line()}" in report.summary()
    assert_no_hanging_notes(sink.events)


def off_grid(beat: float) -> bool:
    """Not on the half-beat grid the pattern's onsets lie on: a shifted note-on."""
    return abs(beat * 2 - round(beat * 2)) > 1e-6


def test_a_held_note_sounds_the_shortest_note_and_a_shifted_one_keeps_its_end(played: Played) -> None:
    """Shifted hits (20 ms long) sound `min_note_s`; a shifted bass note ends where it was written (a
    half beat's 0.45), or, left less than `min_note_s` by its lateness, sounds `min_note_s`."""
    sink, shortest = played.sink, played.engine.config.late.min_note_s
    notes = []  # (pitch, on beat, off beat, seconds sounded)
    sounding = {}
    for event in sink.events:
        if event.is_note_on:
            sounding[event.message[1]] = event
        elif event.is_note_off and event.track == "slow" and event.message[1] in sounding:
            on = sounding.pop(event.message[1])
            notes.append((on.message[1], on.beat, event.beat, event.time - on.time))
    shifted_hits = [length for pitch, on, _, length in notes if pitch >= 70 and off_grid(on)]
    assert shifted_hits and all(abs(length - shortest) < 1e-6 for length in shifted_hits)
    assert all(abs(length - 0.02) < 1e-6 for pitch, on, _, length in notes if pitch >= 70 and not off_grid(on))
    shifted_bass = [(off, length) for pitch, on, off, length in notes if pitch < 70 and off_grid(on)]
    kept_end = [off for off, _ in shifted_bass if abs((off - 0.45) * 2 - round((off - 0.45) * 2)) < 1e-6]
    assert kept_end
    assert all(abs(length - shortest) < 1e-6 for off, length in shifted_bass if off not in kept_end)


def test_the_snapshot_counts_each_voice_and_shows_the_one_falling_behind(played: Played) -> None:
    report, snapshots = played.report, played.snapshots
    final = played.engine.snapshot()
    for name, counts in report.by_voice.items():
        voice = final.voice(name)
        assert (voice.underruns, voice.shifted, voice.lost) == (counts.underruns, counts.shifted, counts.lost)
    assert (final.underruns, final.shifted, final.held, final.dropped) == (
        report.counts.underruns, report.counts.shifted, report.counts.held, report.counts.lost)
    strained = [s for s in snapshots if s.strained]
    assert any(s.voice("slow").strained and s.show_time_s > 1.0 for s in strained)  # the clock moved on meanwhile
    assert all(s.strained == any(v.strained for v in s.voices) for s in snapshots)
    assert len(strained) < len(snapshots) / 4  # it catches up: most of the show it is ahead
