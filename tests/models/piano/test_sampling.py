"""Sampling settings do what they say: masks hold, top-p/min-p cut the tail, seeds reproduce."""

from __future__ import annotations

import math

import pytest
import torch

from encore.models.piano.sampling import apply_repetition_penalty, filter_logits, sample_next
from encore.models.sampling_config import SamplingConfig


def test_greedy_takes_the_argmax() -> None:
    logits = torch.tensor([[0.1, 2.0, 0.5], [3.0, 0.0, -1.0]])
    assert sample_next(logits, SamplingConfig(temperature=0)).tolist() == [1, 0]


def test_mask_is_never_violated() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.zeros(64, 10)
    allowed = torch.zeros(64, 10, dtype=torch.bool)
    allowed[:, 3] = allowed[:, 7] = True
    tokens = sample_next(logits, SamplingConfig(temperature=1.5), generator, allowed)
    assert set(tokens.tolist()) <= {3, 7} and len(set(tokens.tolist())) == 2


def test_top_p_keeps_the_smallest_nucleus() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = torch.isfinite(filter_logits(probs.log(), SamplingConfig(top_p=0.7)))
    assert kept.tolist() == [[True, True, False, False]]


def test_min_p_drops_tokens_far_below_the_top() -> None:
    probs = torch.tensor([[0.6, 0.3, 0.07, 0.03]])
    kept = torch.isfinite(filter_logits(probs.log(), SamplingConfig(min_p=0.1)))
    assert kept.tolist() == [[True, True, True, False]]


def test_repetition_penalty_divides_recent_odds() -> None:
    logits = torch.tensor([[2.0, -1.0, 1.0], [0.0, 0.0, 0.0]])
    out = apply_repetition_penalty(logits, torch.tensor([[0, 1, 0], [2, 2, 2]]), 4.0)
    torch.testing.assert_close(out - logits, -torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) * math.log(4.0))


def test_seeded_generator_reproduces_draws() -> None:
    logits = torch.randn(4, 50)
    first = sample_next(logits, SamplingConfig(), torch.Generator().manual_seed(7))
    second = sample_next(logits, SamplingConfig(), torch.Generator().manual_seed(7))
    assert torch.equal(first, second)


def test_temperature_sharpens_the_distribution() -> None:
    logits = torch.tensor([[1.0, 0.0]]).repeat(4000, 1)
    generator = torch.Generator().manual_seed(1)
    cold = sample_next(logits, SamplingConfig(temperature=0.25), generator).float().mean()
    hot = sample_next(logits, SamplingConfig(temperature=4.0), generator).float().mean()
    assert cold < 0.05 < 0.35 < hot


@pytest.mark.parametrize("bad", [{"temperature": -1}, {"top_p": 0}, {"min_p": 1.0}, {"repetition_penalty": 0}])
def test_bad_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        SamplingConfig(**bad)
