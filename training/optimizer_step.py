"""The optimizer step the trainers share: set the learning rate, then a clipped step on a loss."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Every parameter group of `optimizer` at `learning_rate` for its next step."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate


def clipped_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: Iterable[torch.Tensor],
                 grad_clip: float) -> None:
    """One optimizer step on `loss`: gradients cleared, back-propagated, their norm clipped at `grad_clip`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    optimizer.step()
