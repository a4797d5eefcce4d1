"""GRPO prompts, all of one length within a batch (B streams advance together through one KV cache).

Procedural: `BOS Bar TimeSig Position_0 Tempo` with a random time signature of the vocabulary and a
random tempo in a bpm range. From the split: `BOS` then the `prompt_tokens - 1` tokens that follow a
random Bar of a random training file (drawn in proportion to its length).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from miditok import REMI

from encore.models.errors import EncoreError
from encore.training.piano.prep import load_split


class PromptMaker:
    """Draws prompts with its own numpy generator (`rng`, saved and restored by the trainers).

    Args:
        tokenizer: the REMI+ tokenizer.
        seed: seed of `rng`.
        tempo_range: bpm range of procedural Tempo tokens (the nearest token is kept if none is inside).
        cache_dir: prepared piano data (`encore data piano`) for prompts from a split; None: procedural only.
        prompt_tokens: length of a prompt from the split.
        split: which split to cut from.
    """

    def __init__(self, tokenizer: REMI, seed: int, tempo_range: tuple[float, float] = (60.0, 180.0),
                 cache_dir: Path | None = None, prompt_tokens: int = 64, split: str = "train") -> None:
        vocab = tokenizer.vocab
        self.rng = np.random.default_rng(seed)
        self.bos, self.bar, self.position0 = vocab["BOS_None"], vocab["Bar_None"], vocab["Position_0"]
        self.time_signatures = sorted(i for name, i in vocab.items() if name.startswith("TimeSig_"))
        tempos = {i: float(name.split("_", 1)[1]) for name, i in vocab.items() if name.startswith("Tempo_")}
        low, high = tempo_range
        self.tempos = sorted(i for i, bpm in tempos.items() if low <= bpm <= high) or [
            min(tempos, key=lambda i: abs(tempos[i] - (low + high) / 2))]
        self.prompt_tokens = prompt_tokens
        self.starts: np.ndarray | None = None
        if cache_dir is not None:
            self.tokens, offsets = load_split(Path(cache_dir), split)
            self.starts = self._bar_starts(offsets)

    def _bar_starts(self, offsets: np.ndarray) -> np.ndarray:
        """Bar indices with `prompt_tokens - 1` tokens after them inside their file (last token excluded)."""
        bars = np.flatnonzero(self.tokens == self.bar)
        file_end = offsets[np.searchsorted(offsets, bars, side="right")]
        starts = bars[bars + self.prompt_tokens - 1 <= file_end - 1]
        if len(starts) == 0:
            raise EncoreError(f"no file of the split is long enough for {self.prompt_tokens}-token prompts")
        return starts

    def procedural(self, count: int) -> torch.Tensor:
        """(count, 5) prompts `BOS Bar TimeSig Position_0 Tempo`."""
        ts = self.rng.choice(self.time_signatures, size=count)
        tempo = self.rng.choice(self.tempos, size=count)
        rows = [[self.bos, self.bar, int(t), self.position0, int(b)] for t, b in zip(ts, tempo, strict=True)]
        return torch.tensor(rows, dtype=torch.long)

    def from_split(self, count: int) -> torch.Tensor:
        """(count, prompt_tokens) prompts: BOS and the tokens from a random Bar of the split."""
        if self.starts is None:
            raise EncoreError("prompts from the split need prepared data (cache_dir)")
        starts = self.rng.choice(self.starts, size=count)
        rows = [[self.bos, *self.tokens[s:s + self.prompt_tokens - 1].tolist()] for s in starts]
        return torch.tensor(rows, dtype=torch.long)

    def batch(self, count: int, source: str, split_fraction: float = 0.5) -> tuple[torch.Tensor, str]:
        """`count` prompts from `source` (`procedural`, `split`, or `mixed`: the split with `split_fraction`)."""
        if source == "mixed":
            source = "split" if self.rng.random() < split_fraction else "procedural"
        return (self.from_split(count) if source == "split" else self.procedural(count)), source
