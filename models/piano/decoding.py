"""Prefill and single-token decode through the model's KV cache (separate functions on purpose:
only the decode step is a candidate for compilation)."""

from __future__ import annotations

import torch

from encore.models.piano.phi3 import Phi3


@torch.inference_mode()
def prefill(model: Phi3, tokens: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """Feed `tokens` (B, T) into the cache in chunks; return the last position's logits (B, vocab)."""
    cache = model.cache
    if cache is None:
        raise RuntimeError("call model.setup_caches() before prefill")
    chunk = min(chunk or cache.capacity, cache.capacity)
    logits = None
    for piece in tokens.split(chunk, dim=1):
        positions = cache.reserve(piece.shape[1])
        logits = model(piece, positions, use_cache=True)[:, -1]
    if logits is None:
        raise ValueError("prefill needs at least one token")
    return logits


@torch.inference_mode()
def decode_step(model: Phi3, tokens: torch.Tensor) -> torch.Tensor:
    """Feed one token per stream (B,) and return the next-token logits (B, vocab)."""
    positions = model.cache.reserve(1)
    return model(tokens[:, None], positions, use_cache=True)[:, 0]
