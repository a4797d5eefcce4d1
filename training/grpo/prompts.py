"""GRPO prompts, all of one length within a batch (B streams advance together through one KV cache).

Procedural: `BOS Bar TimeSig Position_0 Tempo` with a random time signature of the vocabulary and a
random tempo in a bpm range. From the split: `BOS` then the `prompt_tokens - 1` tokens that follow a
random Bar of a random training file (drawn in proportion to its length). A split prompt also carries
what followed it in its file (`PromptBatch.continuations`), which the `pace` reward measures against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from miditok import REMI

from encore.models.errors import EncoreError
from encore.training.piano.prep import load_split


@dataclass
class PromptBatch:
    """Prompts of one kind, all of one length.

    Attributes:
        tokens: (count, length) prompt tokens.
        source: `procedural` or `split`.
        continuations: split prompts only, when asked for: per prompt, the tokens that followed it in its
            file (as many as asked, fewer at the file's end).
    """

    tokens: torch.Tensor
    source: str
    continuations: list[list[int]] | None = None


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
            self.tokens, self.offsets = load_split(Path(cache_dir), split)
            self.starts = self._bar_starts(self.offsets)

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

    def from_split(self, count: int, continuation_tokens: int = 0) -> PromptBatch:
        """`count` prompts of `prompt_tokens`: BOS and the tokens from a random Bar of the split.

        With `continuation_tokens`, each carries up to that many tokens that followed it in its file.
        """
        if self.starts is None:
            raise EncoreError("prompts from the split need prepared data (cache_dir)")
        starts = self.rng.choice(self.starts, size=count)
        ends = starts + self.prompt_tokens - 1
        rows = [[self.bos, *self.tokens[s:end].tolist()] for s, end in zip(starts, ends, strict=True)]
        continuations = None
        if continuation_tokens > 0:
            file_ends = self.offsets[np.searchsorted(self.offsets, starts, side="right")]
            continuations = [self.tokens[end:min(end + continuation_tokens, file_end)].tolist()
                             for end, file_end in zip(ends, file_ends, strict=True)]
        return PromptBatch(torch.tensor(rows, dtype=torch.long), "split", continuations)

    def batch(self, count: int, source: str, split_fraction: float = 0.5,
              continuation_tokens: int = 0) -> PromptBatch:
        """`count` prompts from `source` (`procedural`, `split`, or `mixed`: the split with `split_fraction`)."""
        if source == "mixed":
            source = "split" if self.rng.random() < split_fraction else "procedural"
        if source == "split":
            return self.from_split(count, continuation_tokens)
        return PromptBatch(self.procedural(count), "procedural")
