"""Held-out windows for the loss rows: a fixed, seeded sample of the test split, prepared as for training."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.tokenizer import build_tokenizer
from encore.training.paths import default_data_root
from encore.training.piano.prep import PrepConfig, prepare_file
from encore.training.piano.sources import DEFAULT_SOURCES, PianoFile, list_corpus

LOSS_SPLIT = "test"
"""The split the held-out loss is measured on."""

LOSS_SEED = 0
"""The seed of the sample of windows."""


@dataclass(frozen=True)
class HeldOut:
    """A sample of held-out token windows, or why there is none.

    Attributes:
        windows: (count, window) token ids, or None when skipped.
        files: The file each window comes from.
        note: Where the windows come from, or `skipped: ...`.
    """

    windows: torch.Tensor | None
    files: tuple[PianoFile, ...]
    note: str


def held_out_windows(bundle: PianoBundle, window: int, count: int, data_root: Path | None = None,
                     split: str = LOSS_SPLIT, seed: int = LOSS_SEED) -> HeldOut:
    """A fixed, seeded sample of `count` windows of `window` tokens from `split`, one per piece.

    Pieces are shuffled with `seed`; from each, one of its files (POP909 versions included) is
    prepared as for training and one window at a seeded offset is taken, until `count` windows.
    """
    root = Path(data_root) if data_root is not None else default_data_root()
    try:
        files = [f for f in list_corpus(root, DEFAULT_SOURCES) if f.split == split]
    except (FileNotFoundError, NotADirectoryError):
        return HeldOut(None, (), f"skipped: no data at {root}")
    config = PrepConfig(data_root=root, sources=DEFAULT_SOURCES)
    if build_tokenizer(config.tokenizer).vocab != bundle.tokenizer.vocab:
        return HeldOut(None, (), "skipped: the model's tokenizer differs from the data preparation's")
    by_piece: dict[str, list[PianoFile]] = {}
    for file in files:
        by_piece.setdefault(file.piece, []).append(file)
    rng = random.Random(seed)
    pieces = sorted(by_piece)
    rng.shuffle(pieces)
    windows: list[list[int]] = []
    used: list[PianoFile] = []
    for piece in pieces:
        file = rng.choice(by_piece[piece])
        ids = prepare_file(file, config).ids
        if ids is None or len(ids) < window:
            continue
        start = rng.randrange(len(ids) - window + 1)
        windows.append([int(t) for t in ids[start:start + window]])
        used.append(file)
        if len(windows) == count:
            break
    if not windows:
        return HeldOut(None, (), f"skipped: no {split}-split file at {root} is long enough for one window")
    note = (f"{len(windows)} windows of {window} tokens, one per piece, from {len(by_piece)} {split}-split "
            f"pieces of {'+'.join(DEFAULT_SOURCES)} at {root} (seeded sample, seed {seed}; split by split_of)")
    return HeldOut(torch.tensor(windows), tuple(used), note)


@torch.inference_mode()
def window_losses(model: nn.Module, windows: torch.Tensor) -> list[float]:
    """Mean next-token cross-entropy (nats) of each window, no cache."""
    losses: list[float] = []
    for piece in windows.split(4):
        logits = model(piece)[:, :-1].float()
        per_token = F.cross_entropy(logits.transpose(1, 2), piece[:, 1:], reduction="none")
        losses += per_token.mean(dim=1).tolist()
    return losses
