"""Build the named-groove library from GMD beats (`encore groove library`).

For every style, up to `per_style` beat files of the train split are taken at distinct tempos spread
evenly over the style's bpm range (the first file at each chosen bpm); from each the middle two-bar window with at least `min_hits` groove hits becomes
a `NamedGroove` (see `encore.models.groove.library`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from encore.models.groove.features import groove
from encore.models.groove.library import NamedGroove, save_library
from encore.models.shipped import GROOVE_LIBRARY
from encore.training.groove.data import default_data_root, file_windows, read_info


def build_library(data_root: Path | None = None, per_style: int = 4, min_hits: int = 12) -> list[NamedGroove]:
    """Pick grooves from the train split's beats (see module docstring)."""
    files = [f for f in read_info(Path(data_root or default_data_root()) / "groove") if f.split == "train" and f.beat_type == "beat"]
    chosen: list[NamedGroove] = []
    for style in sorted({f.style for f in files}):
        ordered = sorted((f for f in files if f.style == style), key=lambda f: (f.bpm, f.index))
        tempos = sorted({f.bpm for f in ordered})
        wanted = {tempos[i] for i in np.linspace(0, len(tempos) - 1, min(per_style, len(tempos))).round().astype(int)}
        seen_bpm: set[int] = set()
        for item in ordered:
            if item.bpm in seen_bpm or item.bpm not in wanted:
                continue
            hits, velocities, offsets, starts = file_windows(item.path)
            grooves = groove(*(torch.from_numpy(a) for a in (hits, velocities, offsets))).numpy()
            dense = [i for i in range(len(starts)) if grooves[i, :, 0].sum() >= min_hits]
            if not dense:
                continue
            pick = dense[len(dense) // 2]
            seen_bpm.add(item.bpm)
            chosen.append(NamedGroove(f"{style}-{item.bpm}", style, item.bpm, item.path.name, int(starts[pick]), grooves[pick].astype(np.float32)))
    return chosen


def write_library(data_root: Path | None = None, path: Path = GROOVE_LIBRARY) -> int:
    """Build and save the library; returns the number of grooves."""
    grooves = build_library(data_root)
    save_library(grooves, path)
    return len(grooves)
