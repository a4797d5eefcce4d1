"""MIDI clock out without hardware: the message facts, the transport a clock sink adds around the
ticks, and ticks fed through a real engine (offline, on its virtual clock) to the clock sinks only."""

from __future__ import annotations

import pytest
from engine_helpers import eighths

from encore.engine.clock import VirtualClock
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.engine.sync.clock_out import MemoryClockSink
from encore.engine.sync.midi_clock import (
    CLOCK,
    CLOCK_TRACK,
    CONTINUE,
    START,
    STOP,
    first_tick_at_or_after,
    song_position,
    tick_beat,
    tick_interval_s,
)
from encore.engine.sync.ticker import ClockTicker


def tick(index: int) -> MidiEvent:
    return MidiEvent(index * 0.02, tick_beat(index), (CLOCK,), CLOCK_TRACK)


def test_clock_units_and_song_position_bytes() -> None:
    assert tick_interval_s(125.0) == pytest.approx(0.02)
    assert tick_beat(36) == 1.5
    assert first_tick_at_or_after(1.5) == 36
    assert first_tick_at_or_after(1.51) == 37
    assert song_position(0) == (0xF2, 0, 0)
    assert song_position(200) == (0xF2, 200 - 128, 1)  # 200 = 1 * 128 + 72
    assert song_position(16383) == (0xF2, 0x7F, 0x7F)
    with pytest.raises(ValueError, match="song position"):
        song_position(16384)


def test_a_clock_sink_starts_at_tick_zero_and_stops_when_closed() -> None:
    sink = MemoryClockSink()
    for index in range(5):
        sink.send(tick(index))
    sink.send(tick(3))  # a tick sent again (after a panic) is skipped
    sink.close()
    assert sink.messages == [(START,), *[(CLOCK,)] * 5, (STOP,)]


def test_a_clock_sink_joining_late_continues_from_a_sixteenth_with_its_position() -> None:
    sink = MemoryClockSink()
    for index in range(40, 50):  # beat 1.67 on: the next sixteenth is tick 42 (beat 1.75, sixteenth 7)
        sink.send(tick(index))
    assert sink.messages == [(STOP,), song_position(7), (CONTINUE,), *[(CLOCK,)] * 8]
    sink.resync()  # the output was reopened: the position is sent again at the next sixteenth
    for index in range(50, 56):
        sink.send(tick(index))
    assert sink.messages[-5:] == [(STOP,), song_position(9), (CONTINUE,), (CLOCK,), (CLOCK,)]


def test_clock_sinks_get_no_notes_and_no_other_sink_gets_the_clock() -> None:
    clock = VirtualClock()
    recording, clock_out = MemorySink(), MemoryClockSink()
    engine = Engine([eighths()], [recording, clock_out], EngineConfig(bpm=120.0), now=clock)
    ticker = ClockTicker([clock_out])
    engine.run_offline(2.0, on_tick=lambda _: ticker.fill(engine))
    assert not [e for e in recording.events if e.is_system]
    assert any(e.is_note_on for e in recording.events)
    assert clock_out.messages[0] == (START,) and clock_out.messages[-1] == (STOP,)
    assert set(clock_out.messages[1:-1]) == {(CLOCK,)}


class TickLog(MemoryClockSink):
    """A clock sink that also keeps the show time of every tick it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.tick_times: list[float] = []

    def _send(self, event: MidiEvent) -> None:
        before = len(self.messages)
        super()._send(event)
        if len(self.messages) > before:
            self.tick_times.append(event.time)


def test_ticks_follow_the_tempo_map_and_survive_a_panic() -> None:
    """24 ticks a beat at 120 bpm, then at 90 bpm from the beat after the change; a panic loses none."""
    clock = VirtualClock()
    clock_out = TickLog()
    engine = Engine([eighths()], [clock_out], EngineConfig(bpm=120.0), now=clock)
    ticker = ClockTicker([clock_out])
    engine.subscribe(lambda result: ticker.refill_after(result, engine))  # as `ClockTicker.run` does

    def on_tick(show_time: float) -> None:
        if show_time == pytest.approx(1.2):  # beat 2.4: the tempo changes at beat 3 (1.5 s)
            engine.submit(SetTempo(90.0))
        if show_time == pytest.approx(2.5):
            engine.submit(Panic())
        ticker.fill(engine)

    engine.run_offline(4.0, on_tick=on_tick)
    times = clock_out.tick_times
    change = 3 * 24  # tick 72 is beat 3
    expected = [i * 60 / (120 * 24) for i in range(change)]
    expected += [1.5 + (i - change) * 60 / (90 * 24) for i in range(change, len(times))]
    assert times == pytest.approx(expected, abs=1e-9)
    assert len(times) == change + round((4.0 - 1.5) * 90 * 24 / 60)  # every tick before the end, once
