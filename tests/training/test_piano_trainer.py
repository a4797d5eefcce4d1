"""The pretraining loop on real tokens: loss falls, resume continues, export loads, DDP ranks agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from encore.models.errors import CheckpointError
from encore.models.piano.checkpoint import load_piano
from encore.training.piano.config import PianoTrainerConfig
from encore.training.piano.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def tiny_config(cache: Path, run: Path, steps: int, **changes: object) -> PianoTrainerConfig:
    settings: dict = {"preset": "tiny", "steps": steps, "batch_size": 4, "crop": 64, "learning_rate": 3e-3,
                      "warmup_steps": 2, "eval_every": 5, "save_every": 5, "eval_windows": 4, "threads": 1,
                      "device": "cpu", **changes}
    return PianoTrainerConfig(cache_dir=cache, run_dir=run, **settings)


def test_training_lowers_loss_resumes_and_exports(mini_cache: Path, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(mini_cache, tmp_path, steps=10))
    trainer.train()
    validation = [loss for _, loss in trainer.history["validation"]]
    assert validation[-1] < validation[0]
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000

    resumed = Trainer(tiny_config(mini_cache, tmp_path, steps=20))
    assert resumed.step == 10
    torch.testing.assert_close(resumed.model.state_dict(), trainer.model.state_dict())
    metrics = resumed.train()
    assert metrics["steps"] == 20
    assert metrics["test_loss"] < metrics["unigram_test_loss"] + 1.0

    bundle = load_piano(tmp_path / "export")
    card = (tmp_path / "export" / "README.md").read_text()
    assert "unigram baseline" in card and "POP909" in card
    assert "## Training" in card and "learning rate 0.003" in card
    assert json.loads((tmp_path / "export" / "config.json").read_text())["hidden_size"] == 64
    assert bundle.model.lm_head.weight.dtype == torch.float32


def test_resume_reads_an_older_runs_config_and_refuses_another_preset(mini_cache: Path, tmp_path: Path) -> None:
    """Runs saved before the shared config stored `lr`, `out_dir`, `time_budget_minutes`, all as strings."""
    first = Trainer(tiny_config(mini_cache, tmp_path, steps=2, eval_every=100, save_every=100))
    first.train()
    state = torch.load(tmp_path / "train_state.pt", weights_only=False)
    saved = state["config"]
    state["config"] = {{"learning_rate": "lr", "run_dir": "out_dir", "max_minutes": "time_budget_minutes"}.get(k, k): str(v)
                       for k, v in saved.items()}
    torch.save(state, tmp_path / "train_state.pt")

    resumed = Trainer(tiny_config(mini_cache, tmp_path, steps=3))
    assert resumed.step == 2
    with pytest.raises(CheckpointError, match="context_length"):
        Trainer(tiny_config(mini_cache, tmp_path, steps=3, crop=32))


def test_a_run_grows_its_crop_on_resume_augments_and_warm_starts(mini_cache: Path, tmp_path: Path) -> None:
    """The short-to-long curriculum: the context is fixed, the crop grows; an export starts a new run."""
    short = Trainer(tiny_config(mini_cache, tmp_path / "run", steps=4, crop=32, context_length=64, augment=True))
    assert short.sampler.augmenter is not None and short.model.config.context_length == 64
    short.train()
    long = Trainer(tiny_config(mini_cache, tmp_path / "run", steps=6, crop=64, context_length=64, augment=True))
    assert long.step == 4 and long.sampler.crop == 64
    torch.testing.assert_close(long.model.state_dict(), short.model.state_dict())
    long.train()

    warm = Trainer(tiny_config(mini_cache, tmp_path / "warm", steps=2, context_length=64,
                               init_from=tmp_path / "run" / "export"))
    assert warm.step == 0
    exported = load_piano(tmp_path / "run" / "export").model.state_dict()
    for name, value in warm.model.state_dict().items():
        torch.testing.assert_close(value, exported[name].float(), atol=1e-2, rtol=1e-2)
    with pytest.raises(CheckpointError, match="do not fit"):
        Trainer(tiny_config(mini_cache, tmp_path / "other", steps=2, preset="default",
                            init_from=tmp_path / "run" / "export"))


def test_learning_rate_schedule() -> None:
    config = PianoTrainerConfig(cache_dir=Path("."), run_dir=Path("."), steps=100, learning_rate=1.0,
                                warmup_steps=10, min_lr_ratio=0.1)
    assert config.learning_rate_at(0) == 0.1 and config.learning_rate_at(9) == 1.0
    assert abs(config.learning_rate_at(100) - 0.1) < 1e-9
    assert config.learning_rate_at(50) < config.learning_rate_at(20)


def test_ddp_two_cpu_processes_end_with_identical_weights(mini_cache: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(REPO / "tests" / "training" / "ddp_worker.py"), str(mini_cache), str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rank0 = torch.load(tmp_path / "rank0.pt")
    rank1 = torch.load(tmp_path / "rank1.pt")
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0)
    state = torch.load(tmp_path / "train_state.pt", weights_only=False)
    assert state["step"] == 3
