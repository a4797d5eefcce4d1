"""GMD windows from the fixture dataset: splits, the 3/4 file skipped, the cache reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encore.training.groove.data import load_windows, read_info

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_info_keeps_four_four_rows_only() -> None:
    files = read_info(FIXTURES / "groove")
    assert [(f.style, f.bpm, f.split) for f in files] == [("funk", 138, "train"), ("soul", 102, "test")]


def test_windows_per_split_and_cache(tmp_path: Path) -> None:
    sets, cached = load_windows(FIXTURES, tmp_path)
    assert not cached
    # funk: 16 bars -> 15 two-bar windows; soul: 17 bars -> 16 windows; the 3/4 file is skipped
    assert {split: len(w) for split, w in sets.items()} == {"train": 15, "validation": 0, "test": 16}
    train = sets["train"]
    assert train.hits.shape == (15, 32, 9) and train.hits.dtype == np.uint8
    assert list(train.start[:3]) == [0, 16, 32] and set(train.bpm) == {138} and set(train.style) == {"funk"}
    assert np.abs(train.offsets.astype(np.float32)).max() <= 0.5
    # one-bar hop: the second bar of a window is the first bar of the next
    assert np.array_equal(train.hits[0, 16:], train.hits[1, :16])
    again, cached = load_windows(FIXTURES, tmp_path)
    assert cached and np.array_equal(again["test"].velocities, sets["test"].velocities)


def test_training_runs_resumes_and_exports(tmp_path: Path) -> None:
    from encore.models.groove.checkpoint import load_vae, read_config
    from encore.training.groove.config import GrooveTrainerConfig
    from encore.training.groove.trainer import train

    config = GrooveTrainerConfig(model="aux11", steps=4, batch_size=8, eval_every=2)
    paths = {"out_dir": tmp_path / "ckpt", "run_dir": tmp_path / "run", "cache_dir": tmp_path / "cache"}
    train(config, FIXTURES, **paths)
    assert read_config(tmp_path / "ckpt")["training"]["steps"] == 4
    config.steps = 6
    out = train(config, FIXTURES, resume=True, **paths)
    record = read_config(out)["training"]
    assert record["steps"] == 6 and record["windows_seen"] == 48
    assert (out / "README.md").is_file() and (out / "losses.png").is_file() and (tmp_path / "run" / "state.pt").is_file()
    assert load_vae(out).config.kind == "aux11"
