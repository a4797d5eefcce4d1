"""A static KV cache with a rolling window, so that decoding continues forever.

Buffers are preallocated per layer, shaped (batch, kv_heads, max_length, head_dim). Slot i of the cache
is rotary position i. Keys are stored twice: unrotated (the master copy) and rotated at their slot's
position (what attention reads). When the cache is full, it keeps the first `sink_tokens` slots (the
attention sink) and drops a chunk of the oldest tokens after them; the kept keys move down and are
re-rotated from their unrotated copies at their new slots, so positions stay exact and bounded by
`max_length` however long the show runs. Before the first roll, cached decoding is exactly a full
forward pass over the same tokens.

A cache can be rewound to a `CacheMark` taken earlier (a revisable lookahead: re-render from a token
under new settings). Within the window that is setting the length back; across a roll, the roll is
undone from the evicted keys and values it kept (`keep_undo(rolls)` says how many rolls to keep), so a
rewind is exact wherever it lands, bit for bit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import torch

Positions = torch.Tensor | slice
"""Rotary positions: an index tensor, or a slice when they are contiguous (a cheap view of the tables)."""


class RotaryLike(Protocol):
    """What the cache needs from the model's rotary embedding."""

    def rotate(self, x: torch.Tensor, positions: Positions) -> torch.Tensor: ...


@dataclass(frozen=True, slots=True)
class CacheMark:
    """Where a cache stood (`KVCache.mark`), to rewind it there (`KVCache.rewind`)."""

    length: int
    tokens_seen: int
    rolls: int


@dataclass(frozen=True)
class _Roll:
    """What a roll dropped, so it can be undone: the evicted keys (unrotated) and values per layer."""

    end: int
    evict: int
    k_raw: list[torch.Tensor]
    v: list[torch.Tensor]


class KVCache:
    """Per-layer key/value buffers for `batch_size` streams that advance together.

    Allocate one with `Phi3.setup_cache`; whoever decodes owns it and passes it to every call.
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        max_length: int,
        rotary: RotaryLike,
        sink_tokens: int = 4,
        evict_chunk: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        if not 0 <= sink_tokens < max_length:
            raise ValueError("sink_tokens must be smaller than max_length")
        shape = (batch_size, num_heads, max_length, head_dim)
        self.k_raw = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.k_rot = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.batch_size = batch_size
        self.max_length = max_length
        self.sink_tokens = sink_tokens
        self.evict_chunk = evict_chunk or max(1, (max_length - sink_tokens) // 8)
        self.rotary = rotary
        self.device = torch.device(device)
        self.length = 0
        self.start = 0
        self.tokens_seen = 0
        self.rolls = 0
        self._undo: deque[_Roll] = deque(maxlen=0)
        self.workspace: object | None = None  # the lean decode step's tables for this cache (`lean_decode.py`)

    @property
    def capacity(self) -> int:
        """Most tokens one `reserve` call can take."""
        return self.max_length - self.sink_tokens

    def reset(self) -> None:
        """Forget every cached token."""
        self.length = self.start = self.tokens_seen = self.rolls = 0
        self._undo.clear()

    def keep_undo(self, rolls: int) -> None:
        """Keep what the last `rolls` rolls evicted, so a rewind can reach back across them (0: none)."""
        self._undo = deque(self._undo, maxlen=rolls)

    def forget_undo(self) -> None:
        """Drop the kept rolls: nothing before now can be rewound to across a roll."""
        self._undo.clear()

    def mark(self) -> CacheMark:
        """Where the cache stands now."""
        return CacheMark(self.length, self.tokens_seen, self.rolls)

    def can_rewind(self, mark: CacheMark) -> bool:
        """Whether `rewind(mark)` is exact: the mark is not ahead, and every roll since it was kept."""
        return mark.tokens_seen <= self.tokens_seen and self.rolls - mark.rolls <= len(self._undo)

    def rewind(self, mark: CacheMark) -> None:
        """Go back to `mark`: the tokens cached since are forgotten, rolls since are undone.

        Raises:
            ValueError: the rewind cannot be exact (`can_rewind` is false).
        """
        if not self.can_rewind(mark):
            raise ValueError(f"cannot rewind to {mark}: {self.rolls - mark.rolls} rolls since, "
                             f"{len(self._undo)} kept")
        while self.rolls > mark.rolls:
            self._unroll(self._undo.pop())
        self.length = self.start = mark.length
        self.tokens_seen = mark.tokens_seen

    def reserve(self, count: int) -> slice:
        """Make room for `count` new tokens, rolling if needed, and return their slots (positions)."""
        if count > self.capacity:
            raise ValueError(f"cannot add {count} tokens at once to a cache of capacity {self.capacity}")
        overflow = self.length + count - self.max_length
        if overflow > 0:
            self._roll(min(max(overflow, self.evict_chunk), self.length - self.sink_tokens))
        self.start = self.length
        self.length += count
        self.tokens_seen += count
        return slice(self.start, self.length)

    def _roll(self, evict: int) -> None:
        """Drop `evict` tokens after the sink and re-rotate the kept keys at their new slots."""
        sink, end = self.sink_tokens, self.length
        kept_end = end - evict
        positions = slice(sink, kept_end)
        if self._undo.maxlen:
            self._undo.append(_Roll(end, evict, [k[:, :, sink : sink + evict].clone() for k in self.k_raw],
                                    [v[:, :, sink : sink + evict].clone() for v in self.v]))
        for layer in range(len(self.v)):
            self.k_raw[layer][:, :, sink:kept_end] = self.k_raw[layer][:, :, sink + evict : end].clone()
            self.v[layer][:, :, sink:kept_end] = self.v[layer][:, :, sink + evict : end].clone()
            self.k_rot[layer][:, :, sink:kept_end] = self.rotary.rotate(self.k_raw[layer][:, :, sink:kept_end], positions)
        self.length = kept_end
        self.rolls += 1

    def _unroll(self, roll: _Roll) -> None:
        """Undo `roll`: the kept tokens move back up, the evicted ones return, keys re-rotated in place."""
        sink, end = self.sink_tokens, roll.end
        kept_end = end - roll.evict
        positions = slice(sink, end)
        for layer in range(len(self.v)):
            self.k_raw[layer][:, :, sink + roll.evict : end] = self.k_raw[layer][:, :, sink:kept_end].clone()
            self.v[layer][:, :, sink + roll.evict : end] = self.v[layer][:, :, sink:kept_end].clone()
            self.k_raw[layer][:, :, sink : sink + roll.evict] = roll.k_raw[layer]
            self.v[layer][:, :, sink : sink + roll.evict] = roll.v[layer]
            self.k_rot[layer][:, :, sink:end] = self.rotary.rotate(self.k_raw[layer][:, :, sink:end], positions)
        self.length = end
        self.rolls -= 1

    def update(
        self, layer: int, k_raw: torch.Tensor, k_rot: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the reserved tokens' keys and values; return all valid rotated keys and values."""
        start, end = self.start, self.length
        self.k_raw[layer][:, :, start:end] = k_raw
        self.k_rot[layer][:, :, start:end] = k_rot
        self.v[layer][:, :, start:end] = v
        return self.k_rot[layer][:, :, :end], self.v[layer][:, :, :end]

    def attention_mask(self, count: int) -> torch.Tensor | None:
        """Boolean (count, length) mask for the reserved tokens: each sees the cache and its own past."""
        if count == 1:
            return None
        slots = torch.arange(self.length, device=self.device)
        queries = torch.arange(self.start, self.length, device=self.device)
        return slots[None, :] <= queries[:, None]
