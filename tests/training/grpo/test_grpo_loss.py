"""GRPO's pieces against hand-computed values: group normalisation, clipping, KL k3."""

from __future__ import annotations

import math

import pytest
import torch

from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.loss import ADVANTAGE_EPS, group_advantages, grpo_loss, kl_k3


def test_group_advantages_normalise_within_each_group() -> None:
    rewards = torch.tensor([1.0, 2.0, 3.0, 4.0, 0.5, 0.5, 0.5, 0.5])
    advantages = group_advantages(rewards, group_size=4)
    std = math.sqrt((1.5**2 + 0.5**2 + 0.5**2 + 1.5**2) / 3)  # sample std of 1..4
    expected = [x / (std + ADVANTAGE_EPS) for x in (-1.5, -0.5, 0.5, 1.5)] + [0.0] * 4
    torch.testing.assert_close(advantages, torch.tensor(expected))


def test_kl_k3_literals() -> None:
    policy = torch.log(torch.tensor([0.5, 0.25, 0.3]))
    reference = torch.log(torch.tensor([0.25, 0.5, 0.3]))
    expected = [0.5 - math.log(0.5) - 1, 2 - math.log(2) - 1, 0.0]
    torch.testing.assert_close(kl_k3(policy, reference), torch.tensor(expected))


def test_clipped_objective_and_its_gradient() -> None:
    old = torch.zeros(2, 2)
    logprobs = torch.log(torch.tensor([[1.5, 1.1], [0.5, 0.9]])).requires_grad_(True)  # ratios, as old = 0
    advantages = torch.tensor([1.0, -1.0])
    parts = grpo_loss(logprobs, old, logprobs.detach(), advantages, clip_epsilon=0.2, beta=0.04)
    # row 0, A=+1: min(1.5, 1.2) = 1.2 and min(1.1, 1.1) = 1.1; row 1, A=-1: min(-0.5, -0.8) = -0.8, min(-0.9, -0.9)
    per_token = torch.tensor([[-1.2, -1.1], [0.8, 0.9]])
    assert parts.loss.item() == pytest.approx(float(per_token.mean()), abs=1e-6)
    assert parts.clip_fraction == 0.5 and parts.kl == pytest.approx(0.0)
    parts.loss.backward()
    gradient = logprobs.grad
    assert gradient[0, 0] == 0 and gradient[1, 0] == 0, "clipped tokens carry no gradient"
    assert float(gradient[0, 1]) == pytest.approx(-1.1 / 4) and float(gradient[1, 1]) == pytest.approx(0.9 / 4)


def test_kl_term_is_weighted_by_beta() -> None:
    logprobs = torch.log(torch.tensor([[0.5]]))
    reference = torch.log(torch.tensor([[0.25]]))
    parts = grpo_loss(logprobs, logprobs, reference, torch.zeros(1), clip_epsilon=0.2, beta=0.04)
    assert float(parts.loss) == pytest.approx(0.04 * (0.5 - math.log(0.5) - 1))


def test_learning_rate_decays_linearly_to_zero() -> None:
    config = GrpoConfig(steps=200, prompts="procedural", run_dir="unused")
    assert config.learning_rate_at(0) == 1e-4 and config.learning_rate_at(100) == pytest.approx(5e-5)
    assert config.learning_rate_at(200) == 0.0
