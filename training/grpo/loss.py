"""The pieces of the GRPO objective (DeepSeekMath): group-normalised advantages, the PPO-clipped
importance ratio, and the per-token KL to the reference (Schulman's k3 estimator)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

ADVANTAGE_EPS = 1e-4


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = ADVANTAGE_EPS) -> torch.Tensor:
    """(N,) rewards of consecutive groups of `group_size` -> (reward - group mean) / (group std + eps).

    The std is the sample std (n - 1), as TRL computes it; a group of equal rewards gets advantage 0.
    """
    groups = rewards.float().view(-1, group_size)
    mean = groups.mean(dim=1, keepdim=True)
    std = groups.std(dim=1, keepdim=True)
    return ((groups - mean) / (std + eps)).view(-1)


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token KL(policy || reference) estimate exp(r) - r - 1 with r = ref - policy log-prob (>= 0)."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@dataclass
class LossParts:
    """The objective and what the log reports (means over tokens)."""

    loss: torch.Tensor
    kl: float
    clip_fraction: float
    ratio: float


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
              advantages: torch.Tensor, clip_epsilon: float, beta: float) -> LossParts:
    """GRPO loss over (N, T) token log-probs with (N,) advantages: per token
    `-min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) + beta * k3`, averaged over each sequence's tokens
    and then over sequences. `clip_fraction` counts the tokens where clipping is active.
    """
    ratio = torch.exp(logprobs - old_logprobs)
    advantage = advantages[:, None].to(logprobs.dtype)
    unclipped = ratio * advantage
    clipped = ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon) * advantage
    kl = kl_k3(logprobs, ref_logprobs)
    per_token = -torch.minimum(unclipped, clipped) + beta * kl
    active = ((ratio > 1 + clip_epsilon) & (advantage > 0)) | ((ratio < 1 - clip_epsilon) & (advantage < 0))
    return LossParts(per_token.mean(dim=1).mean(), float(kl.detach().mean()), float(active.float().mean()),
                     float(ratio.detach().mean()))
