"""The soak's measures on short offline shows and hand-made event lists: drift against the script's
own beat arithmetic, and notes hanging before the final release (not after it)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import soak  # noqa: E402
from benchmarks.bench_engine import _probe_voice  # noqa: E402
from encore.engine.midi import MidiEvent, note_off, note_on  # noqa: E402
from encore.engine.voices.pattern import PatternVoice  # noqa: E402
from encore.models.notes import NoteEvent  # noqa: E402


def _on(time: float, pitch: int, beat: float | None = None) -> MidiEvent:
    return MidiEvent(time, time * 2 if beat is None else beat, note_on(0, pitch, 80), "piano")


def _off(time: float, pitch: int) -> MidiEvent:
    return MidiEvent(time, time * 2, note_off(0, pitch), "piano")


def test_drift_is_measured_against_beat_arithmetic() -> None:
    events = [_on(0.5, 60), _off(1.0, 60), _on(1.5, 62, beat=3.001)]  # at 120 bpm beat b sits at b / 2 s
    result = soak.drift(events, bpm=120.0)
    assert result["drifted_events"] == 1
    assert abs(result["drift_max_us"] - 500.0) < 1e-3


def test_a_note_whose_off_was_never_generated_hangs_before_the_release() -> None:
    before = [_on(0.0, 60), _off(0.5, 60), _on(1.0, 62), _on(1.0, 64)]
    pending = [_off(3.0, 64)]  # 64 ends after the show: cut at the end; 62 has no note-off anywhere
    assert soak.hanging_notes(before, pending) == {"hanging_before_release": 1, "cut_at_end": 1}


def test_a_queued_later_note_does_not_count_as_ending_one_that_sounds() -> None:
    before = [_on(1.0, 60)]
    pending = [_on(2.0, 60), _off(2.5, 60)]  # the later note's own pair: nothing ends the first
    assert soak.hanging_notes(before, pending)["hanging_before_release"] == 1
    pending = [_on(2.0, 60), _off(2.5, 60), _off(2.75, 60)]  # overlapping: one spare note-off
    assert soak.hanging_notes(before, pending) == {"hanging_before_release": 0, "cut_at_end": 1}


def test_onsets_are_compared_with_what_was_written() -> None:
    written = [NoteEvent(1.0, 60, 80, 1.0), NoteEvent(2.0, 62, 80, 1.0)]
    sent = [_on(0.5, 60), _on(1.05, 62), _on(3.0, 65)]  # on time, shifted 50 ms, never written
    result = soak.onsets_against_written(sent, written, bpm=120.0, max_shift_s=0.1)
    assert result == {"onsets_late": 1, "onsets_unmatched": 1, "onset_late_max_ms": 50.0}


def test_an_offline_show_has_no_drift_and_no_hanging_note() -> None:
    played = soak.play_offline([_probe_voice()], bpm=240.0, seconds=5.0)
    before = played.events[:played.before_release]
    assert played.before_release < len(played.events)  # the release came after what was measured
    assert soak.drift(before, 240.0)["drifted_events"] == 0
    result = soak.hanging_notes(before, played.pending)
    assert result["hanging_before_release"] == 0
    assert len(played.engine.router.sounding()) == 0


def test_notes_cut_by_the_end_are_not_hanging() -> None:
    long_note = PatternVoice("pad", 1, [NoteEvent(0.0, 48, 70, 8.0)], 8.0)  # 4 s at 120 bpm
    played = soak.play_offline([long_note], bpm=120.0, seconds=3.0)
    before = played.events[:played.before_release]
    assert soak.hanging_notes(before, played.pending) == {"hanging_before_release": 0, "cut_at_end": 1}
