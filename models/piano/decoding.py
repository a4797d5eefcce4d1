"""Prefill and single-token decode through a KV cache that the caller owns and passes in (separate
functions on purpose: only the decode step is a candidate for compilation)."""

from __future__ import annotations

import torch

from encore.models.piano.kv_cache import KVCache
from encore.models.piano.lean_decode import lean_decode_step, lean_supported
from encore.models.piano.phi3 import Phi3


@torch.inference_mode()
def prefill(model: Phi3, tokens: torch.Tensor, cache: KVCache, chunk: int | None = None) -> torch.Tensor:
    """Feed `tokens` (B, T) into `cache` in chunks; return the last position's logits (B, vocab).

    Raises:
        ValueError: `tokens` is empty.
    """
    chunk = min(chunk or cache.capacity, cache.capacity)
    logits = None
    for piece in tokens.split(chunk, dim=1):
        positions = cache.reserve(piece.shape[1])
        logits = model(piece, positions, cache)[:, -1]
    if logits is None:
        raise ValueError("prefill needs at least one token")
    return logits


@torch.inference_mode()
def decode_step(model: Phi3, tokens: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Feed one token per stream (B,) into `cache` and return the next-token logits (B, vocab).

    On the CPU in float32/float64 this is the lean step (`lean_decode.py`); elsewhere the model's forward.
    """
    if lean_supported(model, cache):
        return lean_decode_step(model, tokens, cache)
    positions = cache.reserve(1)
    return model(tokens[:, None], positions, cache)[:, 0]
