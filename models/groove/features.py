"""The input functions of the factorized groove VAE, applied to a drum loop X.

All functions take batched tensors of shape (batch, steps, 9) as built by `encore.models.groove.grid` and
return float tensors of shape (batch, steps, channels):

- `score(hits)` is F1(X): the quantized hits alone, no timing and no velocity (9 channels);
- `groove(hits, velocities, offsets)` is F2(X), the "squashed" performance: one hit per step that has any
  note, carrying the velocity and offset of the step's loudest note, and no instrument (3 channels:
  hit, velocity, offset), which is what tapping the rhythm on one pad gives;
- `accents(hits, velocities)`: 1 on a step where some drum's velocity is more than one standard
  deviation (population) above that drum's mean velocity over the loop (1 channel).
"""

from __future__ import annotations

import torch

#: Channels of each input function's output.
SCORE_CHANNELS = 9
GROOVE_CHANNELS = 3
ACCENT_CHANNELS = 1


def score(hits: torch.Tensor) -> torch.Tensor:
    """F1: the quantized score, i.e. the hits as 0/1 floats."""
    return (hits > 0.5).float()


def groove(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """F2: the squashed performance, (batch, steps, 3) of hit, velocity and offset of the loudest note."""
    struck = hits > 0.5
    loudness = torch.where(struck, velocities, torch.full_like(velocities, -1.0))
    loudest = loudness.argmax(dim=-1, keepdim=True)
    any_hit = struck.any(dim=-1, keepdim=True).float()
    velocity = velocities.gather(-1, loudest) * any_hit
    offset = offsets.gather(-1, loudest) * any_hit
    return torch.cat([any_hit, velocity, offset], dim=-1)


def accents(hits: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
    """Accents: (batch, steps, 1), 1 where a note is louder than its drum's mean plus one std."""
    struck = (hits > 0.5).float()
    count = struck.sum(dim=1, keepdim=True).clamp(min=1.0)
    mean = (velocities * struck).sum(dim=1, keepdim=True) / count
    variance = (((velocities - mean) ** 2) * struck).sum(dim=1, keepdim=True) / count
    loud = (velocities > mean + variance.sqrt() + 1e-6) & (struck > 0)
    return loud.any(dim=-1, keepdim=True).float()


def instrument(hits: torch.Tensor, index: int) -> torch.Tensor:
    """The score of one drum class: (batch, steps, 1)."""
    return score(hits[..., index : index + 1])
