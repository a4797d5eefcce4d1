"""`encore train critic` in miniature: data rendered once, training resumes, export with accuracy and sanity ranking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.models.piano.checkpoint import PianoBundle
from encore.training.grpo.config import CriticTrainerConfig
from encore.training.grpo.critic import load_critic
from encore.training.grpo.critic_train import CriticTrainer
from encore.training.grpo.negatives import HELD_OUT_FAMILIES

pytestmark = pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="FluidR3_GM SoundFont not installed")


def test_critic_trains_resumes_and_exports_its_card(mini_cache: Path, tmp_path: Path) -> None:
    settings = {"cache_dir": mini_cache, "run_dir": tmp_path, "real_examples": 6, "held_out_examples": 2,
                "max_new_tokens": 32, "prompt_tokens": 16, "sample_batch": 4, "batch_size": 4, "eval_every": 2,
                "crop_s": 2.0, "render_workers": 0, "threads": 1, "device": "cpu", "negatives": 10}
    trainer = CriticTrainer(CriticTrainerConfig(steps=2, **settings), bundle=PianoBundle.random("tiny"))
    assert trainer.data["train"].shape[0] == 6 + 6 + 10 and trainer.data["held_fake"].shape[0] == 2
    assert int(trainer.data["train_labels"].sum()) == 6  # the real crops; base samples and negatives are 0
    trainer.train()
    resumed = CriticTrainer(CriticTrainerConfig(steps=4, **settings))  # data read back: no model needed
    assert resumed.step == 2
    metrics = resumed.train()
    assert metrics["steps"] == 4 and 0 <= metrics["held_out_accuracy"] <= 1
    assert set(metrics["sanity"]) == {"real (validation split)", "base samples", "silence", "white noise",
                                      *(f"{family} (never trained on)" for family in HELD_OUT_FAMILIES)}
    card = (tmp_path / "export" / "README.md").read_text()
    assert "Sanity ranking" in card and "Held-out accuracy" in card
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 4
    load_critic(tmp_path / "export")
