"""Data augmentation on token ids, drawn afresh for every training crop.

- Pitch: every note of the crop moves by one shift of up to `max_transpose` semitones either way, drawn
  among the shifts that keep every note of the crop on the keyboard (the vocabulary's pitch range).
- Tempo: every Tempo token moves by up to `max_tempo_bins` bins, clipped to the vocabulary's range.
- Velocity: every Velocity token moves by up to `max_velocity_bins` bins, clipped.
- Start: with `prefix_fraction` a crop starts with BOS, then (with `style_fraction`, when the file's
  style is known) its style token, as the live stream's first tokens are; otherwise it starts anywhere,
  as v1's crops and test windows do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encore.models.piano.tokenizer import STYLES


@dataclass(frozen=True)
class AugmentConfig:
    """How far each augmentation reaches (0 turns one off)."""

    max_transpose: int = 6
    max_tempo_bins: int = 2
    max_velocity_bins: int = 2
    prefix_fraction: float = 0.75
    style_fraction: float = 0.8


def _index_table(vocab: dict[str, int], prefix: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """For tokens `prefix<value>` in value order: each id's index among them (-1 if another kind), and the ids."""
    named = sorted(((float(token[len(prefix):]), index) for token, index in vocab.items()
                    if token.startswith(prefix)))
    index_of = np.full(size, -1, dtype=np.int64)
    ids = np.array([index for _, index in named], dtype=np.int64)
    index_of[ids] = np.arange(len(ids))
    return index_of, ids


class Augmenter:
    """Applies an `AugmentConfig` to crops of one vocabulary."""

    def __init__(self, vocab: dict[str, int], config: AugmentConfig | None = None) -> None:
        self.config = config or AugmentConfig()
        size = max(vocab.values()) + 1
        self.pitch_index, self.pitch_ids = _index_table(vocab, "Pitch_", size)
        self.tempo_index, self.tempo_ids = _index_table(vocab, "Tempo_", size)
        self.velocity_index, self.velocity_ids = _index_table(vocab, "Velocity_", size)
        self.bos = vocab["BOS_None"]
        self.style_ids = [vocab.get(f"Style_{style}") for style in STYLES]

    def transpose(self, row: np.ndarray, rng: np.random.Generator) -> None:
        """Shift every Pitch token of `row` by one random in-range shift (in place)."""
        index = self.pitch_index[row]
        notes = index >= 0
        if not notes.any() or self.config.max_transpose == 0:
            return
        low = max(-self.config.max_transpose, -int(index[notes].min()))
        high = min(self.config.max_transpose, len(self.pitch_ids) - 1 - int(index[notes].max()))
        row[notes] = self.pitch_ids[index[notes] + rng.integers(low, high + 1)]

    @staticmethod
    def _shift_clipped(row: np.ndarray, index_of: np.ndarray, ids: np.ndarray, reach: int,
                       rng: np.random.Generator) -> None:
        index = index_of[row]
        found = index >= 0
        if reach and found.any():
            row[found] = ids[np.clip(index[found] + rng.integers(-reach, reach + 1), 0, len(ids) - 1)]

    def apply(self, row: np.ndarray, rng: np.random.Generator) -> None:
        """Transpose, shift tempo and velocity of one crop (in place)."""
        self.transpose(row, rng)
        self._shift_clipped(row, self.tempo_index, self.tempo_ids, self.config.max_tempo_bins, rng)
        self._shift_clipped(row, self.velocity_index, self.velocity_ids, self.config.max_velocity_bins, rng)

    def prefix(self, style: int | None, rng: np.random.Generator) -> list[int]:
        """The tokens a crop starts with: none, BOS, or BOS and the style token."""
        if rng.random() >= self.config.prefix_fraction:
            return []
        style_id = self.style_ids[style] if style is not None else None
        if style_id is not None and rng.random() < self.config.style_fraction:
            return [self.bos, style_id]
        return [self.bos]
