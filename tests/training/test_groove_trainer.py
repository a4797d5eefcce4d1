"""Groove training resumes exactly: a run stopped halfway and resumed ends as an uninterrupted one,
and the resumed invocation only takes the steps that were left."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from encore.models.groove.vae import GrooveVAE
from encore.training.groove.config import GrooveTrainerConfig
from encore.training.groove.trainer import train
from encore.training.model_card import groove_card

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STEPS, SAVED_AT = 6, 3  # the state is saved every 3 steps (with each validation)


class Interrupted(Exception):
    """Stands for a crash or a kill between two saves."""


def config() -> GrooveTrainerConfig:
    return GrooveTrainerConfig(model="aux11", steps=STEPS, batch_size=8, eval_every=SAVED_AT, seed=3)


def count_training_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record one entry per training-mode loss, i.e. per optimizer step (validation runs in eval mode)."""
    steps: list[int] = []
    loss = GrooveVAE.loss

    def counted(self: GrooveVAE, *args: Any) -> Any:
        if self.training:
            steps.append(1)
        return loss(self, *args)

    monkeypatch.setattr(GrooveVAE, "loss", counted)
    return steps


def stop_after(monkeypatch: pytest.MonkeyPatch, steps: int, stop: Callable[[], bool]) -> None:
    """Make the loop's time check (made once before each step) call `stop` once `steps` steps are done."""
    checks = iter(range(10**6))
    monkeypatch.setattr(GrooveTrainerConfig, "out_of_time", lambda self, elapsed_s: next(checks) >= steps and stop())


def run(tmp_path: Path, name: str, resume: bool = False) -> dict[str, Any]:
    paths = {"out_dir": tmp_path / f"{name}-ckpt", "run_dir": tmp_path / name, "cache_dir": tmp_path / "cache"}
    train(config(), FIXTURES, resume=resume, **paths)
    return torch.load(tmp_path / name / "state.pt", weights_only=False)


def raise_interrupted() -> bool:
    raise Interrupted


@pytest.mark.parametrize(
    ("stopped_after", "stop"),
    [(SAVED_AT, lambda: True), (SAVED_AT + 1, raise_interrupted)],
    ids=["time budget spent at a save", "crash one step after a save"],
)
def test_resumed_run_equals_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped_after: int, stop: Callable[[], bool]
) -> None:
    steps = count_training_steps(monkeypatch)
    whole = run(tmp_path, "whole")
    assert len(steps) == STEPS

    steps.clear()
    stop_after(monkeypatch, stopped_after, stop)
    try:
        run(tmp_path, "split")
    except Interrupted:
        pass
    assert len(steps) == stopped_after
    assert torch.load(tmp_path / "split" / "state.pt", weights_only=False)["step"] == SAVED_AT

    steps.clear()
    monkeypatch.undo()
    steps = count_training_steps(monkeypatch)
    resumed = run(tmp_path, "split", resume=True)
    assert len(steps) == STEPS - SAVED_AT, f"the resumed run took {len(steps)} steps, not the {STEPS - SAVED_AT} left"

    assert resumed["step"] == whole["step"] == STEPS
    for name, weights in whole["model"].items():
        assert torch.equal(resumed["model"][name], weights), f"{name} differs from the uninterrupted run"
    for index, moments in whole["optimizer"]["state"].items():
        for key, value in moments.items():
            assert torch.equal(resumed["optimizer"]["state"][index][key], value), f"Adam {key} of parameter {index}"
    np.testing.assert_equal(resumed["history"], whole["history"])  # NaN (empty validation split) equals NaN


def test_the_card_names_the_device_it_trained_on(tmp_path: Path) -> None:
    settings = GrooveTrainerConfig(model="aux11", steps=2, batch_size=8, eval_every=2, seed=3, threads=1)
    out = train(settings, FIXTURES, out_dir=tmp_path / "ckpt", run_dir=tmp_path / "run", cache_dir=tmp_path / "cache")
    assert "on 1 CPU thread" in (out / "README.md").read_text()
    training = {"steps": 2, "windows_seen": 16, "wall_minutes": 1.0, "parameters": 1, "value_weight": 10.0,
                "held_out": {split: dict.fromkeys(("loss", "recon", "kl", "aux", "hit_acc"), 1.0)
                             for split in ("validation", "test")}}
    card = groove_card(settings, training, {"train": 1, "validation": 1, "test": 1}, device="cuda")
    assert "on cuda" in card and "CPU thread" not in card
