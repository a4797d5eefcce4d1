"""GrooVAE's window draw (audit point 15): non-overlapping windows, at most N per file per pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from encore.training.groove.data import WindowSet, load_windows
from encore.training.groove.window_draw import WindowDraw, paper_probabilities

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def synthetic(windows_per_file: dict[int, int]) -> WindowSet:
    """Windows of files with the given counts of one-bar-hop windows (starts 0, 16, 32, ...)."""
    file_index = np.concatenate([np.full(n, f) for f, n in windows_per_file.items()])
    start = np.concatenate([np.arange(n) * 16 for n in windows_per_file.values()])
    empty = np.zeros((len(start), 32, 9))
    return WindowSet(empty, empty, empty, file_index, start, np.zeros(len(start)), np.zeros(len(start), "<U4"))


def test_only_two_bar_aligned_windows_are_drawn(tmp_path: Path) -> None:
    train = load_windows(FIXTURES, tmp_path)[0]["train"]
    probabilities = paper_probabilities(train)
    assert np.isclose(probabilities.sum(), 1)
    drawn = set(WindowDraw(train, "paper")(np.random.default_rng(0), 500).tolist())
    # the funk file's 15 windows start every bar; GrooVAE's are those on even bars: 0, 32, ..., 224
    assert sorted(train.start[list(drawn)].tolist()) == list(range(0, 225, 32))


def test_a_long_file_gives_at_most_per_file_windows_a_pass() -> None:
    windows = synthetic({0: 10, 1: 100})  # 5 and 50 aligned windows
    probabilities = paper_probabilities(windows, per_file=20)
    share = np.array([probabilities[windows.file_index == f].sum() for f in (0, 1)])
    # a pass is 5 + 20 windows: the short file gives all 5, the long one 20 of its 50
    assert np.allclose(share * 25, [5, 20])
    assert np.count_nonzero(probabilities[windows.file_index == 1]) == 50


def test_hop_draws_every_window_uniformly_and_bad_modes_fail() -> None:
    windows = synthetic({0: 6})
    counts = np.bincount(WindowDraw(windows, "hop")(np.random.default_rng(1), 6000), minlength=6)
    assert counts.min() > 800
    with pytest.raises(ValueError, match="hop, paper"):
        WindowDraw(windows, "every")


def test_the_run_config_names_the_draw() -> None:
    from encore.training.config import TrainerConfigError
    from encore.training.groove.config import GrooveTrainerConfig

    assert GrooveTrainerConfig(windows="paper").windows == "paper"
    with pytest.raises(TrainerConfigError, match="windows"):
        GrooveTrainerConfig(windows="every")
