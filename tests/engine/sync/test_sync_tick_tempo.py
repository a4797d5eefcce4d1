"""Smoothing an incoming MIDI clock: ticks arriving on JACK's 5.3 ms periods still give the tempo and
the beat, a tempo change is taken within about half a beat, and a silent master gives no estimate."""

from __future__ import annotations

import math

import pytest

from encore.engine.sync.tick_tempo import TickTempo

PERIOD_S = 256 / 48000  # a JACK period: arrivals are rounded up to the next one


def arrivals(bpm: float, start_s: float, count: int) -> list[float]:
    """When ticks sent at `bpm` from `start_s` arrive through JACK (at the end of their period)."""
    return [math.ceil((start_s + i * 60 / (bpm * 24)) / PERIOD_S) * PERIOD_S for i in range(count)]


def test_tempo_and_beat_from_jittery_ticks() -> None:
    ticks = TickTempo()
    for at in arrivals(100.0, 0.0, 48):
        ticks.tick(at)
    ticks.origin_tick = 0
    line = ticks.line()
    assert line is not None
    assert line.bpm == pytest.approx(100.0, rel=0.005)
    now = 47 * 60 / 2400 + 0.01
    reading = ticks.read(now)
    assert reading is not None
    # The true beat is now * 100 / 60; arrivals lag by half a period on average.
    assert reading.beat == pytest.approx(now * 100 / 60, abs=PERIOD_S * 100 / 60)


def test_a_tempo_change_is_taken_within_half_a_beat() -> None:
    ticks = TickTempo()
    for at in arrivals(100.0, 0.0, 48):
        ticks.tick(at)
    change_s = 48 * 60 / 2400
    for count, at in enumerate(arrivals(130.0, change_s, 24), start=1):
        ticks.tick(at)
        line = ticks.line()
        assert line is not None
        if count >= 14:  # a little over half a beat of 130 bpm ticks
            assert line.bpm == pytest.approx(130.0, rel=0.02), count


def test_no_estimate_without_enough_ticks_a_start_or_a_running_master() -> None:
    ticks = TickTempo()
    for at in arrivals(120.0, 0.0, 5):
        ticks.tick(at)
    assert ticks.line() is None
    ticks.tick(arrivals(120.0, 0.0, 6)[-1])
    assert ticks.read(0.11) is None  # no Start yet: no beat to count from
    ticks.origin_tick = 0
    assert ticks.read(0.11) is not None
    assert ticks.read(0.11 + 7 * 60 / (120 * 24)) is None  # six tick periods of silence: the master paused
