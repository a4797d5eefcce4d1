"""Held-out measures of a piano checkpoint, comparable across vocabularies and contexts (`encore eval piano`).

Every measure scores fixed non-overlapping windows of a prepared split (`evaluation_windows`, the windows
the trainer's final test loss uses); each target token is scored once, with the context its window gives.
- **default test**: v1's test split and windows (512 tokens, 512 windows), so v1 and v2 compare on the
  same footing; a v2 vocabulary extends v1's, so the same ids mean the same tokens.
- **bits per note**: a window set's total loss in bits over its notes, so layouts that spend more or fewer
  tokens per note compare (v2 spends one more token on each performer note).
- **by position**: in windows as long as the context, the loss at targets 0-512 against 1,024-2,048.
- **per source**: the v2 test split's files of each source.
- **style**: windows at the start of a file, scored with and without the style token after BOS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.tokenizer import STYLES, has_roles
from encore.training.piano.prep import load_sources, load_split, load_styles
from encore.training.piano.sources import STYLE_OF_SOURCE
from encore.training.piano.token_batches import evaluation_windows

DEFAULT_WINDOW, DEFAULT_WINDOWS = 512, 512
"""The windows of v1's final test loss (its card's 1.8138 nats per token)."""

POSITION_BANDS = ((0, 512), (512, 1024), (1024, 2048))


@dataclass(frozen=True)
class HeldOutScore:
    """Summed loss over some targets, and how many tokens and notes they were."""

    nats: float
    tokens: int
    notes: int

    @property
    def nats_per_token(self) -> float:
        """Mean loss per scored token."""
        return self.nats / max(1, self.tokens)

    @property
    def bits_per_note(self) -> float:
        """Total loss in bits over the notes among the scored targets."""
        return self.nats / math.log(2) / max(1, self.notes)

    def as_dict(self) -> dict[str, float]:
        """The figures, rounded for a report."""
        return {"nats_per_token": round(self.nats_per_token, 4), "bits_per_note": round(self.bits_per_note, 3),
                "tokens": self.tokens, "notes": self.notes}


class WindowScorer:
    """Scores token windows with one checkpoint."""

    def __init__(self, bundle: PianoBundle, batch_size: int = 8) -> None:
        self.model = bundle.model
        self.vocab = bundle.tokenizer.vocab
        self.pad_id = self.vocab["PAD_None"]
        self.pitch_ids = torch.tensor([i for token, i in self.vocab.items() if token.startswith("Pitch_")])
        self.batch_size = batch_size

    def losses(self, windows: torch.Tensor) -> torch.Tensor:
        """(windows, length - 1) next-token losses in nats; 0 where the target is PAD."""
        rows = []
        with torch.inference_mode():
            for chunk in windows.split(self.batch_size):
                logits = self.model(chunk[:, :-1]).float()
                loss = F.cross_entropy(logits.transpose(1, 2), chunk[:, 1:], reduction="none")
                rows.append(loss.masked_fill(chunk[:, 1:] == self.pad_id, 0.0))
        return torch.cat(rows) if rows else torch.zeros(0, windows.shape[1] - 1)

    def score(self, windows: torch.Tensor, losses: torch.Tensor | None = None,
              targets: slice = slice(None)) -> HeldOutScore:
        """The summed loss of the targets in `targets` of each window, with their tokens and notes."""
        losses = self.losses(windows) if losses is None else losses
        chosen = windows[:, 1:][:, targets]
        real = chosen != self.pad_id
        return HeldOutScore(float(losses[:, targets][real].sum()), int(real.sum()),
                            int(torch.isin(chosen, self.pitch_ids).sum()))

    def fits(self, windows: torch.Tensor) -> bool:
        """Whether every id of `windows` is in this checkpoint's vocabulary."""
        return int(windows.max()) < len(self.vocab)


def split_windows(cache_dir: Path, split: str, window: int, pad_id: int, count: int | None = None,
                  source: str | None = None) -> torch.Tensor:
    """Fixed windows of `window` targets over a split's files (only `source`'s, if named)."""
    tokens, offsets = load_split(cache_dir, split)
    if source is not None:
        keep = [i for i, name in enumerate(load_sources(cache_dir, split)) if name == source]
        pieces = [tokens[offsets[i]:offsets[i + 1]] for i in keep]
        tokens = np.concatenate(pieces) if pieces else np.zeros(0, tokens.dtype)
        offsets = np.cumsum([0, *(len(piece) for piece in pieces)])
    if len(tokens) == 0:
        return torch.zeros(0, window + 1, dtype=torch.long)
    return evaluation_windows(tokens, offsets, window, pad_id, count)


def file_openings(cache_dir: Path, split: str, window: int, pad_id: int) -> tuple[torch.Tensor, np.ndarray]:
    """The first window of every file of a split (each starts with BOS) and each file's style index."""
    tokens, offsets = load_split(cache_dir, split)
    rows = np.full((len(offsets) - 1, window + 1), pad_id, dtype=np.int64)
    for row, (start, end) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        piece = tokens[start:min(end, start + window + 1)]
        rows[row, :len(piece)] = piece
    styles = load_styles(cache_dir, split)
    if styles is None:
        styles = np.array([STYLES.index(STYLE_OF_SOURCE[s]) for s in load_sources(cache_dir, split)])
    return torch.from_numpy(rows), styles


def style_effect(scorer: WindowScorer, openings: torch.Tensor, styles: np.ndarray) -> dict[str, dict]:
    """The same targets (each file's first `window - 1`) scored after `BOS` and after `BOS Style_x`."""
    style_ids = torch.tensor([scorer.vocab[f"Style_{style}"] for style in STYLES])
    styled = torch.cat([openings[:, :1], style_ids[torch.from_numpy(styles).long()][:, None], openings[:, 1:-1]], dim=1)
    plain = scorer.score(openings, targets=slice(0, openings.shape[1] - 2))
    with_style = scorer.score(styled, targets=slice(1, openings.shape[1] - 1))
    return {"without style": plain.as_dict(), "with style": with_style.as_dict()}


def evaluate(bundle: PianoBundle, default_cache: Path, v2_cache: Path | None, long_windows: int = 64,
             source_windows: int = 64) -> dict:
    """Every measure of the module docstring that the checkpoint and the caches allow."""
    scorer = WindowScorer(bundle)
    context = bundle.model.config.context_length
    window = min(DEFAULT_WINDOW, context)  # a model with a shorter context gets shorter windows, and says so
    report: dict = {"context_length": context, "window": window}
    default = split_windows(default_cache, "test", window, scorer.pad_id, DEFAULT_WINDOWS)
    report["default test (v1 split and windows)"] = scorer.score(default).as_dict()
    if v2_cache is None:
        return report
    long = split_windows(v2_cache, "test", context, scorer.pad_id, long_windows)
    if scorer.fits(long):
        losses = scorer.losses(long)
        report["by position"] = {f"{low}-{high}": scorer.score(long, losses, slice(low, high)).as_dict()
                                 for low, high in POSITION_BANDS if high <= context}
    report["per source"] = {}
    for source in sorted(set(load_sources(v2_cache, "test"))):
        windows = split_windows(v2_cache, "test", window, scorer.pad_id, source_windows, source)
        if len(windows) and scorer.fits(windows):
            report["per source"][source] = scorer.score(windows).as_dict()
    if has_roles(bundle.tokenizer):
        report["style"] = style_effect(scorer, *file_openings(v2_cache, "test", window, scorer.pad_id))
    return report
