"""Training crops from the cached token arrays: up to `crop` tokens, padded with PAD as in SMART."""

from __future__ import annotations

import numpy as np
import torch

from encore.training.piano.augment import Augmenter


class CropSampler:
    """Random crops of `crop + 1` tokens (input and shifted target) from a split's files.

    Files are drawn in proportion to their length; files shorter than the crop are padded with PAD.
    With an `Augmenter`, each crop is transposed, its tempo and velocities shifted, and it may start with
    BOS and the file's style (`styles`, one index per file), the crop's own tokens shortened to fit.
    """

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, crop: int, pad_id: int, seed: int,
                 augmenter: Augmenter | None = None, styles: np.ndarray | None = None) -> None:
        self.augmenter = augmenter
        self.styles = styles
        self.tokens = tokens
        self.starts = offsets[:-1]
        self.lengths = np.diff(offsets)
        self.crop = crop
        self.pad_id = pad_id
        self.rng = np.random.default_rng(seed)
        self.weights = self.lengths / self.lengths.sum()

    def batch(self, batch_size: int) -> torch.Tensor:
        """A (batch_size, crop + 1) int64 tensor of random crops."""
        files = self.rng.choice(len(self.lengths), size=batch_size, p=self.weights)
        out = np.full((batch_size, self.crop + 1), self.pad_id, dtype=np.int64)
        for row, file in enumerate(files):
            head = self._prefix(file)
            room = self.crop + 1 - len(head)
            length = self.lengths[file]
            offset = self.rng.integers(0, max(1, length - room + 1))
            piece = self.tokens[self.starts[file] + offset : self.starts[file] + min(length, offset + room)]
            if head and offset == 0:  # the file's own BOS gives way to the prefix's
                piece = self.tokens[self.starts[file] + 1 : self.starts[file] + min(length, room + 1)]
            out[row, : len(head)] = head
            out[row, len(head) : len(head) + len(piece)] = piece
            if self.augmenter is not None:
                self.augmenter.apply(out[row], self.rng)
        return torch.from_numpy(out)

    def _prefix(self, file: int) -> list[int]:
        if self.augmenter is None:
            return []
        return self.augmenter.prefix(int(self.styles[file]) if self.styles is not None else None, self.rng)


def evaluation_windows(tokens: np.ndarray, offsets: np.ndarray, crop: int, pad_id: int,
                       max_windows: int | None = None) -> torch.Tensor:
    """Deterministic non-overlapping windows over every file of a split (for held-out loss)."""
    rows = []
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        for begin in range(start, end - 1, crop):
            piece = tokens[begin : min(end, begin + crop + 1)]
            row = np.full(crop + 1, pad_id, dtype=np.int64)
            row[: len(piece)] = piece
            rows.append(row)
    rows = rows if max_windows is None else [rows[i] for i in np.linspace(0, len(rows) - 1, max_windows).astype(int)]
    return torch.from_numpy(np.stack(rows))


def unigram_loss(train_tokens: np.ndarray, test_tokens: np.ndarray, vocab_size: int, pad_id: int) -> float:
    """Cross-entropy per token (nats) of the train split's add-one unigram distribution on a test split."""
    counts = np.bincount(train_tokens[train_tokens != pad_id], minlength=vocab_size).astype(np.float64) + 1
    log_prob = np.log(counts / counts.sum())
    test = test_tokens[test_tokens != pad_id]
    return float(-log_prob[test].mean())
