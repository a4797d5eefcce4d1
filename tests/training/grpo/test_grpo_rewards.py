"""Rewards: symbolic values by hand, composition, spec parsing, the critic's reward and the audiobox adapter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encore.models.errors import EncoreError
from encore.training.grpo import audiobox
from encore.training.grpo.critic import AudioCritic, CriticConfig, CriticReward, load_critic, save_critic
from encore.training.grpo.render import Rendered
from encore.training.grpo.rewards import RewardBatch, WeightedReward, build_reward, parse_reward_spec
from encore.training.grpo.symbolic import (
    CMajorFraction,
    ContinuationPace,
    NoteDensity,
    ScaleConsistency,
    onset_rate,
)
from encore.training.grpo.timing import TimedNote


def notes(pitches: list[int], spacing_s: float = 0.5) -> list[TimedNote]:
    return [TimedNote(i * spacing_s, pitch, 80, 0.25) for i, pitch in enumerate(pitches)]


def test_symbolic_rewards_by_hand() -> None:
    batch = RewardBatch([notes([60, 62, 64, 61]), notes([61, 63, 66, 68, 70]), [], notes([60] * 30, 0.5)],
                        crop_s=10.0)
    torch.testing.assert_close(CMajorFraction().score(batch), torch.tensor([0.75, 0.0, 0.0, 1.0]))
    # F# major holds 61 63 66 68 70 (C#, D#, F#, G#, A#); 60 62 64 61 fit D major at most 3 of 4
    torch.testing.assert_close(ScaleConsistency().score(batch), torch.tensor([0.75, 1.0, 0.0, 1.0]))
    # densities: 0.4, 0.5, 0, 2.0 notes/s (the last piece has 20 notes inside the 10 s crop)
    torch.testing.assert_close(NoteDensity(1.0, 1.5).score(batch), torch.tensor([0.4, 0.5, 0.0, 0.75]))


def test_pace_rewards_the_real_continuations_notes_per_beat() -> None:
    real = [i * 0.5 for i in range(21)]  # onsets 0 to 10 beats: 2.1 notes per beat
    pieces = [[i * 0.5 for i in range(21)], [float(i) for i in range(11)], [i * 0.25 for i in range(81)], [],
              [0.0, 1.0]]
    placeholder = [notes([60])] * len(pieces)  # pace reads onsets in beats, not the notes in seconds
    batch = RewardBatch(placeholder, onsets_beats=pieces, references=[real, real, real, real, None])
    # 2.1 against 2.1; 1.1; 81 notes over 20 beats = 4.05 (the whole completion counts); nothing; no reference
    expected = [1.0, 1.225 / 2.225, 2.225 / 4.175, 0.125 / 2.225, 1.0]
    torch.testing.assert_close(ContinuationPace().score(batch), torch.tensor(expected))
    assert ContinuationPace().score(RewardBatch([notes([60] * 3)])).tolist() == [1.0]
    with pytest.raises(ValueError, match="onsets in beats"):
        ContinuationPace().score(RewardBatch(placeholder[:1], references=[real]))
    assert onset_rate([0.0, 0.1, 0.2]) == 3.0  # a span under a second counts as one second
    assert onset_rate([0.0, 0.5, 1.0], min_span=2.0) == 1.5
    assert isinstance(build_reward("pace"), ContinuationPace)


def test_weighted_composition_and_specs() -> None:
    assert parse_reward_spec("critic") == [("critic", 1.0)]
    assert parse_reward_spec("cmajor:2, density:0.5") == [("cmajor", 2.0), ("density", 0.5)]
    for bad in ("loudness", "cmajor:x", ""):
        with pytest.raises(EncoreError):
            parse_reward_spec(bad)
    reward = build_reward("cmajor:2,scale:0.5")
    assert isinstance(reward, WeightedReward) and not reward.needs_audio
    batch = RewardBatch([notes([60, 61])])
    assert reward.score(batch).tolist() == pytest.approx([2 * 0.5 + 0.5 * 1.0])
    assert build_reward("cmajor").name == "cmajor"


def test_critic_reward_is_a_probability_and_zero_for_silence(tmp_path) -> None:
    torch.manual_seed(0)
    critic = AudioCritic(CriticConfig())
    save_critic(tmp_path, critic, "# card\n")
    reward = build_reward("critic", critic=tmp_path)
    assert isinstance(reward, CriticReward) and reward.needs_audio
    audio = np.random.default_rng(0).normal(0, 0.1, (3, 16000)).astype(np.float32)
    audio[1] = 0
    batch = RewardBatch([[], [], []], Rendered(audio, np.array([False, True, False]), np.zeros(3, int), 16000))
    scores = reward.score(batch)
    assert scores.shape == (3,) and scores[1] == 0 and bool(((scores > 0) & (scores < 1))[[0, 2]].all())
    torch.testing.assert_close(load_critic(tmp_path).state_dict(), critic.state_dict())
    with pytest.raises(EncoreError, match="no critic checkpoint"):
        build_reward("critic", critic=tmp_path / "missing")


def test_a_level_invariant_critic_scores_a_louder_rendering_the_same(tmp_path) -> None:
    """A gain changes a critic that hears level and not one that does not; the setting survives a save."""
    t = np.arange(16000) / 16000
    rng = np.random.default_rng(0)
    audio = (0.2 * np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)
    louder = torch.from_numpy(np.stack([audio, 4 * audio]))
    for invariant in (False, True):
        torch.manual_seed(0)
        critic = AudioCritic(CriticConfig(level_invariant=invariant)).eval()
        with torch.no_grad():
            quiet, loud = critic(louder)
        assert (abs(float(loud - quiet)) < 1e-5) == invariant
    save_critic(tmp_path, critic, "# card\n")
    assert load_critic(tmp_path).config.level_invariant
    assert not CriticConfig.from_dict({"mel": CriticConfig().mel.to_dict(), "channels": [8]}).level_invariant


def test_audiobox_adapter_names_what_is_missing() -> None:
    missing = audiobox.missing_packages()
    if missing:
        with pytest.raises(EncoreError, match="audiobox-aesthetics|torchaudio") as error:
            build_reward("audiobox")
        assert "\n" not in str(error.value)
        pytest.skip(f"optional extra not installed ({', '.join(missing)}): the audiobox scoring path is untested here")
    with pytest.raises(EncoreError, match="checkpoint"):
        build_reward("audiobox", audiobox_checkpoint=None)
