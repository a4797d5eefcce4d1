"""The critic refresh in miniature: a tiny random piano and critic, real crops of the mini cache rendered through
FluidSynth. A refresh moves the critic against the policy's samples, resumes exactly, refuses runs it cannot
serve, and off leaves the critic alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.models.errors import EncoreError
from encore.models.piano.checkpoint import PianoBundle
from encore.stage.cli import main
from encore.training.config import TrainerConfigError
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.critic import AudioCritic, CriticConfig, load_critic, save_critic
from encore.training.grpo.critic_refresh import REPORTED, find_critic
from encore.training.grpo.grpo import GrpoTrainer

pytestmark = pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="FluidR3_GM SoundFont not installed")


@pytest.fixture(scope="module")
def tiny_critic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return save_critic(tmp_path_factory.mktemp("critic"), AudioCritic(CriticConfig(channels=(4, 8))), "# tiny\n")


def refresh_config(run_dir: Path, cache: Path | None, critic: Path, steps: int, **changes: object) -> GrpoConfig:
    settings: dict = {"reward": "critic", "critic": critic, "prompts": "procedural", "cache_dir": cache,
                      "steps": steps, "batch_size": 2, "group_size": 2, "max_new_tokens": 48, "learning_rate": 1e-3,
                      "save_every": 1, "eval_windows": 2, "crop_s": 2.0, "render_workers": 0, "threads": 1,
                      "device": "cpu", "seed": 0, "refresh_critic_every": 1, "refresh_critic_steps": 3,
                      "refresh_critic_batch": 8, "refresh_real_crops": 8, "refresh_critic_lr": 1e-3, **changes}
    return GrpoConfig(run_dir=run_dir, **settings)


def test_a_refresh_lowers_p_real_of_the_policy_samples(tiny_critic: Path, mini_cache: Path, tmp_path: Path) -> None:
    config = refresh_config(tmp_path, mini_cache, tiny_critic, steps=1, refresh_critic_steps=30, refresh_critic_lr=1e-2)
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    trainer.train()
    row = trainer.history[0]
    assert row["critic_p_real_after"] < row["critic_p_real_before"], row
    assert row["critic_accuracy_after"] >= row["critic_accuracy_before"], row
    assert row["critic_real_p_real"] > row["critic_p_real_after"], row  # it learnt to tell them apart, not "all fake"
    assert all(0 <= row[name] <= 1 for name in REPORTED)
    refreshed = find_critic(trainer.reward).model.state_dict()
    original = load_critic(tiny_critic).state_dict()
    assert any(not torch.equal(refreshed[name], original[name]) for name in original)
    torch.testing.assert_close(load_critic(tmp_path / "critic-export").state_dict(), refreshed, rtol=0, atol=0)
    assert "refreshed during GRPO" in (tmp_path / "critic-export" / "README.md").read_text()
    assert "critic_p_real_after" in (tmp_path / "log.jsonl").read_text()


def test_resume_restores_the_refreshed_critic(tiny_critic: Path, mini_cache: Path, tmp_path: Path) -> None:
    def trainer(run_dir: Path) -> GrpoTrainer:
        config = refresh_config(run_dir, mini_cache, tiny_critic, steps=2, reward="critic:1,density:0.5")
        return GrpoTrainer(config, bundle=PianoBundle.random("tiny"))

    whole = trainer(tmp_path / "whole")
    whole.train(until=1)  # FluidSynth's output depends on what it rendered before: both runs start iteration 2
    whole.train()         # with a fresh synth (train() closes its renderer), so the samples are bit-equal
    trainer(tmp_path / "split").train(until=1)  # as if interrupted after iteration 1 (its state is saved then)
    resumed = trainer(tmp_path / "split")
    assert resumed.iteration == 1 and len(resumed.refresh.policy_mels) == 1
    resumed.train()
    assert [r["critic_p_real_after"] for r in resumed.history] == [r["critic_p_real_after"] for r in whole.history]
    torch.testing.assert_close(resumed.refresh.critic.state_dict(), whole.refresh.critic.state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(resumed.refresh.optimizer.state_dict()["state"],
                               whole.refresh.optimizer.state_dict()["state"], rtol=0, atol=0)


def test_a_refresh_without_a_critic_or_prepared_data_is_refused(tiny_critic: Path, mini_cache: Path,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(EncoreError, match=r"needs the critic in the reward \(got cmajor\)"):
        GrpoTrainer(refresh_config(tmp_path, mini_cache, tiny_critic, steps=1, reward="cmajor"),
                    bundle=PianoBundle.random("tiny"))
    with pytest.raises(TrainerConfigError, match=r"refresh_critic_every needs prepared data \(cache_dir\)"):
        refresh_config(tmp_path, None, tiny_critic, steps=1)
    for flag, value, message in (("--refresh-critic-every", "-1", "--refresh-critic-every must be at least 0"),
                                 ("--refresh-critic-steps", "0", "--refresh-critic-steps must be at least 1")):
        code = main(["train", "grpo", "--reward", "cmajor", "--prompts", "procedural", flag, value,
                     "--run-dir", str(tmp_path / "cli"), "--device", "cpu"])
        assert code == 2 and message in capsys.readouterr().err


def test_refresh_off_leaves_the_critic_alone_and_can_start_at_a_resume(tiny_critic: Path, mini_cache: Path,
                                                                      tmp_path: Path) -> None:
    off = GrpoTrainer(refresh_config(tmp_path, mini_cache, tiny_critic, steps=1, refresh_critic_every=0),
                      bundle=PianoBundle.random("tiny"))
    off.train()
    original = load_critic(tiny_critic).state_dict()
    torch.testing.assert_close(find_critic(off.reward).model.state_dict(), original, rtol=0, atol=0)
    assert off.refresh is None and not set(REPORTED) & set(off.history[0])
    assert "critic_refresh" not in torch.load(off.state_path, weights_only=False)
    assert not (tmp_path / "critic-export").exists()
    on = GrpoTrainer(refresh_config(tmp_path, mini_cache, tiny_critic, steps=2), bundle=PianoBundle.random("tiny"))
    assert on.iteration == 1  # a state saved without refresh resumes with it
    on.train()
    assert set(REPORTED) <= set(on.history[1]) and (tmp_path / "critic-export" / "model.safetensors").is_file()
    refreshed = find_critic(on.reward).model.state_dict()
    assert any(not torch.equal(refreshed[name], original[name]) for name in original)
