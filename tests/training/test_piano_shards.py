"""A run's round trip through a lent GPU: the cache as one .npz, the state as a few small shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from encore.training.piano.config import PianoTrainerConfig
from encore.training.piano.shards import MAX_SHARDS, has_state_shards, pack_cache, unpack_cache
from encore.training.piano.trainer import Trainer


def test_a_packed_cache_unpacks_to_the_same_files(mini_cache: Path, tmp_path: Path) -> None:
    packed = pack_cache(mini_cache, tmp_path / "piano.npz")
    folder = unpack_cache(packed, tmp_path / "cache")
    assert folder.name == mini_cache.name
    originals = sorted(p.name for p in mini_cache.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == originals
    for name in originals:
        if name.endswith(".npy"):
            np.testing.assert_array_equal(np.load(folder / name), np.load(mini_cache / name))
        else:
            assert (folder / name).read_bytes() == (mini_cache / name).read_bytes()


def config(cache: Path, run: Path, shards: Path, steps: int) -> PianoTrainerConfig:
    return PianoTrainerConfig(cache_dir=cache, run_dir=run, state_shards=shards, preset="tiny", steps=steps,
                              batch_size=4, crop=64, learning_rate=3e-3, warmup_steps=2, eval_every=3,
                              eval_windows=2, final_eval_windows=2, threads=1, device="cpu", augment=True)


def test_a_run_resumes_from_its_shards_alone(mini_cache: Path, tmp_path: Path) -> None:
    first = Trainer(config(mini_cache, tmp_path / "here", tmp_path / "shards", steps=3))
    first.train()
    assert has_state_shards(tmp_path / "shards")
    assert 0 < len(list((tmp_path / "shards").glob("state-*.safetensors"))) <= MAX_SHARDS
    # elsewhere (a fresh machine): no run folder, only the shards
    there = Trainer(config(mini_cache, tmp_path / "there", tmp_path / "shards", steps=6))
    assert there.step == 3 and there.history["validation"] == [list(v) for v in first.history["validation"]]
    torch.testing.assert_close(there.model.state_dict(), first.model.state_dict())
    assert there.sampler.rng.bit_generator.state == first.sampler.rng.bit_generator.state
    moments = first.optimizer.state_dict()["state"][0]["exp_avg"]
    torch.testing.assert_close(there.optimizer.state_dict()["state"][0]["exp_avg"], moments, rtol=1e-2, atol=1e-6)
    there.train()
    assert there.step == 6
