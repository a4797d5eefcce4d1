"""The musical clock and unit conversions: literal values, tempo changes that never move the past."""

from __future__ import annotations

import pytest

from encore.engine.clock import (
    MusicalClock,
    VirtualClock,
    bar_beats,
    beats_to_seconds,
    parse_time_signature,
    seconds_to_beats,
)
from encore.engine.midi import bpm_to_tempo, meta_tempo_bpm, set_tempo, tempo_to_bpm
from encore.models.errors import EncoreError


def test_unit_conversions() -> None:
    assert beats_to_seconds(4, 120) == 2.0
    assert beats_to_seconds(1, 60) == 1.0
    assert seconds_to_beats(3.0, 100) == 5.0
    assert bar_beats(4, 4) == 4.0
    assert bar_beats(3, 4) == 3.0
    assert bar_beats(6, 8) == 3.0
    assert bpm_to_tempo(120) == 500_000
    assert tempo_to_bpm(400_000) == 150.0
    assert set_tempo(120) == (0xFF, 0x51, 3, 0x07, 0xA1, 0x20)
    assert meta_tempo_bpm(set_tempo(98)) == pytest.approx(98, abs=1e-3)


@pytest.mark.parametrize(("text", "expected"), [("4/4", (4, 4)), ("3/4", (3, 4)), ("6/8", (6, 8)), ("7/8", (7, 8))])
def test_parse_time_signature(text: str, expected: tuple[int, int]) -> None:
    assert parse_time_signature(text) == expected


@pytest.mark.parametrize("text", ["4", "4/3", "0/4", "a/b", "4/4/4"])
def test_parse_time_signature_rejects(text: str) -> None:
    with pytest.raises(EncoreError):
        parse_time_signature(text)


def seconds_under(tempo_map: list[tuple[float, float]], beat: float) -> float:
    """Show time of `beat` under `(from_beat, bpm)` segments starting at beat 0, summed segment by segment."""
    seconds = 0.0
    for (start, bpm), (end, _) in zip(tempo_map, [*tempo_map[1:], (float("inf"), 0.0)], strict=True):
        if beat <= start:
            break
        seconds += (min(beat, end) - start) * 60.0 / bpm
    return seconds


def test_times_follow_the_tempo_map_and_invert() -> None:
    tempo_map = [(0.0, 90.0), (8.0, 140.0), (20.0, 60.0)]
    clock = MusicalClock(90)
    clock.set_tempo(140, 8.0)
    clock.set_tempo(60, 20.0)
    assert seconds_under(tempo_map, 13.25) == pytest.approx(8 * 60 / 90 + 5.25 * 60 / 140)  # the helper itself
    for beat in (0.0, 3.5, 8.0, 13.25, 20.0, 100.0):
        assert clock.time_at(beat) == pytest.approx(seconds_under(tempo_map, beat), abs=1e-12)
        assert clock.beat_at(seconds_under(tempo_map, beat)) == pytest.approx(beat, abs=1e-9)


def test_tempo_change_keeps_earlier_beats() -> None:
    clock = MusicalClock(120)
    assert [clock.time_at(b) for b in (0, 1, 2, 3, 4)] == [0.0, 0.5, 1.0, 1.5, 2.0]
    clock.set_tempo(60, 4.0)
    assert [clock.time_at(b) for b in (0, 1, 2, 3, 4)] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert clock.time_at(5.0) == 3.0  # beat 4 at 2 s, then one second per beat
    assert clock.bpm_at(3.99) == 120 and clock.bpm_at(4.0) == 60


def test_tempo_change_before_last_change_is_refused() -> None:
    clock = MusicalClock(120)
    clock.set_tempo(100, 8.0)
    with pytest.raises(ValueError):
        clock.set_tempo(90, 4.0)


def test_bar_lines_and_beats() -> None:
    clock = MusicalClock(120, (3, 4))
    assert clock.next_bar_line(0.0) == 0.0
    assert clock.next_bar_line(0.1) == 3.0
    assert clock.next_bar_line(6.0) == 6.0
    assert clock.next_beat(2.0) == 3.0
    assert clock.next_beat(2.5) == 3.0


def test_no_drift_over_an_hour_of_beats() -> None:
    clock = MusicalClock(120)
    assert clock.time_at(7200.0) == 3600.0
    assert clock.time_at(7200.5) == 3600.25
    slow = MusicalClock(100)  # 0.6 s a beat, which binary floating point cannot hold: summing would drift
    assert slow.time_at(6000.0) == 3600.0
    assert slow.time_at(6000.5) == pytest.approx(3600.3, abs=1e-9)


def test_virtual_clock_never_goes_back() -> None:
    clock = VirtualClock(5.0)
    clock.set(3.0)
    assert clock() == 5.0
    clock.advance(0.5)
    assert clock() == 5.5
