"""The generation guards: a long silence and a back-to-back loop each trip at a bar line and say
where to cut; the tempo map turns the model's beats into seconds."""

from __future__ import annotations

import pytest

from encore.training.challenge.guards import GuardConfig, LoopTracker, SegmentGuard
from encore.training.challenge.report import longest_repeat
from encore.training.challenge.timeline import TempoMap, TimedNote, release_overlaps, trim


def test_tempo_map_converts_beats_at_each_tempo() -> None:
    tempo = TempoMap(120.0, start_beats=8.0)
    assert tempo.seconds(12.0) == 2.0
    tempo.set_tempo(12.0, 60.0)
    assert tempo.seconds(14.0) == 4.0
    tempo.set_tempo(16.0, 240.0)
    assert tempo.seconds(20.0) == 7.0
    assert tempo.seconds(10.0) == 1.0  # earlier beats keep their tempo
    with pytest.raises(ValueError):
        tempo.set_tempo(15.0, 100.0)


def test_trim_releases_notes_at_the_end() -> None:
    notes = [TimedNote(0.0, 1.0, 60, 80), TimedNote(9.0, 12.0, 62, 80), TimedNote(10.0, 11.0, 64, 80)]
    assert trim(notes, 10.0) == [notes[0], TimedNote(9.0, 10.0, 62, 80)]


def test_a_key_is_released_before_it_sounds_again() -> None:
    notes = [TimedNote(1.0, 3.0, 60, 80), TimedNote(0.0, 2.0, 60, 70), TimedNote(0.5, 4.0, 64, 80)]
    assert release_overlaps(notes) == [TimedNote(0.0, 1.0, 60, 70), TimedNote(0.5, 4.0, 64, 80),
                                       TimedNote(1.0, 3.0, 60, 80)]
    duplicates = [TimedNote(0.0, 1.0, 60, 80), TimedNote(0.0, 2.0, 60, 90)]
    assert release_overlaps(duplicates) == [TimedNote(0.0, 2.0, 60, 90)]


def test_the_loop_tracker_agrees_with_the_report() -> None:
    motif = [(60, 0.4), (64, 0.4), (67, 0.4)]
    notes = [TimedNote(0.0, 0.2, 30, 80), TimedNote(0.3, 0.5, 31, 80)] + [
        TimedNote(1.0 + 1.5 * r + 0.5 * k, 1.0 + 1.5 * r + 0.5 * k + d, p, 80)
        for r in range(4) for k, (p, d) in enumerate(motif)]
    tracker = LoopTracker(8)
    spans = [tracker.add(x.onset_s, x.end_s, x.pitch) for x in notes]
    assert max(spans) == pytest.approx(longest_repeat(notes).span_s) == pytest.approx(4.0)
    assert tracker.start_s == pytest.approx(2.5)


def test_a_long_silence_cuts_at_the_bar_line_after_the_last_release() -> None:
    guard = SegmentGuard(GuardConfig(max_silence_s=3.0), start_s=10.0)
    guard.add_note(10.0, 11.5, 60)
    assert guard.bar_line(12.0) is None
    assert guard.bar_line(14.0) is None  # 2.5 s of silence so far
    assert guard.bar_line(16.0) == 12.0  # 4.5 s: keep up to the bar line after 11.5


def test_a_silent_start_gives_an_empty_segment() -> None:
    guard = SegmentGuard(GuardConfig(max_silence_s=3.0), start_s=0.0)
    assert guard.bar_line(2.0) is None
    assert guard.bar_line(4.0) == 0.0


def test_a_loop_trips_and_keeps_only_its_beginning() -> None:
    config = GuardConfig(max_repeat_s=16.0, keep_repeat_s=6.0)
    guard = SegmentGuard(config, start_s=0.0)
    cut = None
    # 4 s of varied notes, then the same two-note figure every second, bar lines every 2 s
    for i in range(8):
        guard.add_note(0.5 * i, 0.5 * i + 0.3, 40 + i)
    beat = 4.0
    while cut is None and beat < 60:
        for offset in (0.0, 0.5, 1.0, 1.5):
            guard.add_note(beat + offset, beat + offset + 0.25, 70 + int(offset * 2) % 2)
        beat += 2.0
        cut = guard.bar_line(beat)
    # the figure repeats from 5.0, so the span counts from the onset before it (4.5); it trips at 21.0
    assert beat == pytest.approx(22.0)
    assert cut == 10.0  # the last bar line by 4.5 + 6 s


def test_guard_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        GuardConfig(max_silence_s=0)
    with pytest.raises(ValueError):
        GuardConfig(max_repeat_s=5, keep_repeat_s=6)


def test_a_silence_inside_a_bar_trips_at_the_next_bar_line() -> None:
    guard = SegmentGuard(GuardConfig(max_silence_s=3.0), start_s=0.0)
    guard.add_note(0.0, 1.0, 60)
    assert guard.bar_line(4.0) is None  # 3.0 s so far, not more
    guard.add_note(5.5, 6.0, 62)  # 4.5 s of silence, inside the bar [4, 8)
    assert guard.bar_line(8.0) == 0.0  # no bar line within 1.5 s after 1.0: keep up to the one before


def test_a_silent_lead_in_trips() -> None:
    guard = SegmentGuard(GuardConfig(max_silence_s=1.0), start_s=10.0)
    guard.add_note(11.5, 12.0, 60)
    assert guard.bar_line(12.0) == 10.0
