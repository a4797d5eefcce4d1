"""Held-out measures: bits per note, loss by position, per source, the style token's effect."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.tokenizer import RemiPlusSettings
from encore.training.piano.evaluate import HeldOutScore, WindowScorer, evaluate, split_windows
from encore.training.piano.prep import PrepConfig, run_prep


def test_bits_per_note_is_the_total_loss_in_bits_over_the_notes() -> None:
    score = HeldOutScore(nats=math.log(2) * 30, tokens=40, notes=10)
    assert score.bits_per_note == pytest.approx(3.0) and score.nats_per_token == pytest.approx(math.log(2) * 0.75)


def test_a_window_is_scored_once_per_real_target_and_notes_are_its_pitches(mini_cache: Path) -> None:
    bundle = PianoBundle.random(preset="tiny")
    scorer = WindowScorer(bundle)
    windows = split_windows(mini_cache, "test", 64, scorer.pad_id, 6)
    whole = scorer.score(windows)
    halves = [scorer.score(windows, targets=slice(0, 32)), scorer.score(windows, targets=slice(32, None))]
    assert whole.tokens == sum(h.tokens for h in halves) == int((windows[:, 1:] != scorer.pad_id).sum())
    assert whole.nats == pytest.approx(sum(h.nats for h in halves), rel=1e-5)
    pitches = torch.tensor([i for t, i in bundle.tokenizer.vocab.items() if t.startswith("Pitch_")])
    assert whole.notes == int(torch.isin(windows[:, 1:], pitches).sum()) > 0


def test_evaluate_reports_every_measure_a_v2_model_allows(mini_data_root: Path, mini_cache: Path,
                                                           tmp_path: Path) -> None:
    v2 = PrepConfig.v2(data_root=mini_data_root, sources=("pop909", "piano_midi_de"), cache_root=tmp_path, workers=1)
    run_prep(v2, progress=False)
    v1_report = evaluate(PianoBundle.random(preset="tiny"), mini_cache, v2.cache_dir, long_windows=2, source_windows=2)
    bundle = PianoBundle.random(preset="tiny", settings=RemiPlusSettings.with_roles())
    report = evaluate(bundle, mini_cache, v2.cache_dir, long_windows=2, source_windows=2)
    assert report["window"] == 128 and report["by position"] == {}  # the tiny preset: 128 tokens, no band fits
    assert report["default test (v1 split and windows)"]["tokens"] == v1_report["default test (v1 split and windows)"]["tokens"]
    assert set(report["per source"]) >= set(v1_report["per source"])
    assert set(report["style"]) == {"without style", "with style"}
    assert report["style"]["with style"]["tokens"] == report["style"]["without style"]["tokens"]
    assert "style" not in v1_report
