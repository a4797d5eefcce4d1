"""Next-token sampling: temperature, top-p, min-p and a repetition penalty, all changeable between tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class SamplingConfig:
    """Sampling settings; a live show replaces or edits them between tokens.

    Attributes:
        temperature: Softmax temperature; 0 means greedy.
        top_p: Nucleus size (1.0 keeps every token).
        min_p: Drop tokens whose probability is below `min_p` times the top token's.
        repetition_penalty: Divide the probability of each recently sampled token by this (before
            renormalizing); 1 turns it off.
        repetition_window: How many recently sampled Pitch tokens the penalty looks at.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    repetition_window: int = 32

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1 or not 0 <= self.min_p < 1:
            raise ValueError("need temperature >= 0, 0 < top_p <= 1 and 0 <= min_p < 1")
        if self.repetition_penalty <= 0 or self.repetition_window < 0:
            raise ValueError("need repetition_penalty > 0 and repetition_window >= 0")


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
