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


def test_beats_and_times_invert() -> None:
    clock = MusicalClock(90)
    clock.set_tempo(140, 8.0)
    clock.set_tempo(60, 20.0)
    for beat in (0.0, 3.5, 8.0, 13.25, 20.0, 100.0):
        assert clock.beat_at(clock.time_at(beat)) == pytest.approx(beat)


def test_tempo_change_keeps_earlier_beats() -> None:
    clock = MusicalClock(120)
    before = [clock.time_at(b) for b in (0, 1, 2, 3, 4)]
    clock.set_tempo(60, 4.0)
    assert [clock.time_at(b) for b in (0, 1, 2, 3, 4)] == before
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
    assert clock.time_at(7200.5) - clock.time_at(7200.0) == pytest.approx(0.25, abs=1e-9)


def test_virtual_clock_never_goes_back() -> None:
    clock = VirtualClock(5.0)
    clock.set(3.0)
    assert clock() == 5.0
    clock.advance(0.5)
    assert clock() == 5.5
