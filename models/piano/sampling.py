"""Next-token sampling: temperature, top-p, min-p and a repetition penalty (`SamplingConfig`), all
changeable between tokens."""

from __future__ import annotations

import math

import torch

from encore.models.sampling_config import SamplingConfig


def apply_repetition_penalty(logits: torch.Tensor, recent: torch.Tensor | None, penalty: float) -> torch.Tensor:
    """Lower the logits of the tokens in `recent` (B, W) by log(penalty), once per token, per row.

    Unlike CTRL's divide-or-multiply rule, this is the same odds change whatever the logit's sign.
    """
    if recent is None or penalty == 1.0 or recent.numel() == 0:
        return logits
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, recent, True)
    return logits - seen * math.log(penalty)


def filter_logits(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Apply temperature, min-p and top-p to (B, V) logits; filtered entries become -inf."""
    logits = logits.float() / max(config.temperature, 1e-6)
    if config.min_p > 0:
        probs = logits.softmax(dim=-1)
        floor = probs.max(dim=-1, keepdim=True).values * config.min_p
        logits = logits.masked_fill(probs < floor, float("-inf"))
    if config.top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - sorted_logits.softmax(dim=-1) >= config.top_p
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def sample_next(
    logits: torch.Tensor,
    config: SamplingConfig,
    generator: torch.Generator | None = None,
    allowed: torch.Tensor | None = None,
    recent: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw one token per row of `logits` (B, V).

    Args:
        logits: Next-token logits.
        config: Current sampling settings.
        generator: Seeded generator for reproducible draws (on the logits' device).
        allowed: Optional (B, V) bool grammar mask; forbidden tokens are never drawn.
        recent: Optional (B, W) recently sampled tokens for the repetition penalty.

    Returns:
        (B,) int64 token ids.
    """
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    logits = apply_repetition_penalty(logits, recent, config.repetition_penalty)
    if config.temperature == 0:
        return logits.argmax(dim=-1)
    probs = filter_logits(logits, config).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
