"""Continuations of held-out seeds and their musicality features (training/piano/continuations.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from symusic import Score, Tempo

from encore.models.midi_writer import write_notes
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import load_piano
from encore.models.sampling_config import SamplingConfig
from encore.training.challenge.timeline import TimedNote
from encore.training.piano.continuations import (
    ContinuationFeatures,
    HeldOutSeed,
    continue_seed,
    cut_seed,
    features,
    summarize,
    tempo_map,
)
from encore.training.piano.sources import PianoFile


def test_tempo_map_follows_a_tempo_change() -> None:
    score = Score(480)
    score.tempos.append(Tempo(0, 120.0))
    score.tempos.append(Tempo(960, 60.0))
    tempo = tempo_map(score)
    assert [tempo.seconds(tick / 480) for tick in (0, 480, 960, 1440)] == pytest.approx([0.0, 0.5, 1.0, 2.0])


def test_features_of_a_known_phrase() -> None:
    # 120 bpm: beats of 0.5 s; a note in beats 0, 1 and 4 of 8 (4 s); the last two notes repeat the first two
    notes = [TimedNote(0.0, 0.4, 60, 80), TimedNote(0.5, 0.9, 64, 100), TimedNote(2.0, 2.4, 60, 80),
             TimedNote(2.5, 2.9, 64, 100)]
    result = features(notes, 4.0, 120.0)
    assert result.notes_per_s == 1.0
    assert result.empty_beats == pytest.approx(4 / 8)
    assert result.longest_silence_s == pytest.approx(1.1)  # 2.9 to the end at 4.0
    assert result.pitch_range == 4 and result.mean_pitch == 62
    assert result.mean_velocity == 90 and result.velocity_std == 10
    assert result.longest_repeat_s > 0


def test_features_of_silence_are_empty_not_errors() -> None:
    result = features([], 10.0, 100.0)
    assert result.notes_per_s == 0 and result.empty_beats == 1.0 and result.longest_silence_s == 10.0
    assert math.isnan(result.pitch_range)


def _file(tmp_path: Path, bars_of_music: int) -> PianoFile:
    notes = [NoteEvent(beat, 60 + beat % 12, 90, 0.5) for beat in range(bars_of_music * 4)]
    path = tmp_path / "piece.mid"
    write_notes(path, notes, bpm=120.0)
    return PianoFile(path, "pop909", "piece")


def test_cut_seed_keeps_eight_bars_and_the_next_seconds(tmp_path: Path) -> None:
    seed = cut_seed(_file(tmp_path, 40), seed_bars=8, seconds=20.0)
    assert seed is not None and seed.bpm == pytest.approx(120.0)
    assert len(seed.seed.tracks[0].notes) == 32  # 8 bars of a note a beat
    assert [n.onset_s for n in seed.real][:2] == pytest.approx([0.0, 0.5])  # the bar after the seed, from 0
    assert len(seed.real) == 40 and max(n.onset_s for n in seed.real) < 20.0


def test_cut_seed_refuses_a_file_too_short(tmp_path: Path) -> None:
    assert cut_seed(_file(tmp_path, 12), seed_bars=8, seconds=20.0) is None


def test_a_continuation_is_timed_from_the_seed_end(tmp_path: Path) -> None:
    seed = cut_seed(_file(tmp_path, 24), seed_bars=8, seconds=4.0)
    assert isinstance(seed, HeldOutSeed)
    notes = continue_seed(load_piano(None), seed, 4.0, SamplingConfig(temperature=1.0), random_seed=1)
    assert notes and all(0.0 <= n.onset_s < 4.0 and n.end_s > n.onset_s for n in notes)


def _features(value: float) -> ContinuationFeatures:
    return ContinuationFeatures(*([value] * 8))


def test_summary_marks_medians_outside_the_real_band() -> None:
    real = [_features(v) for v in np.linspace(0.0, 10.0, 11)]
    summary = summarize(real, {"close": [_features(5.0)] * 3, "far": [_features(20.0)] * 3})
    row = summary["notes_per_s"]
    assert row.real_p10 == pytest.approx(1.0) and row.real_p90 == pytest.approx(9.0)
    assert row.inside == {"close": True, "far": False}
