"""Where the repository, the shared datasets and the caches are; the split names."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SPLITS: tuple[str, ...] = ("train", "validation", "test")


def default_data_root() -> Path:
    """`$ENCORE_DATA` if set, else `../shared/data` beside the repository."""
    return Path(os.environ.get("ENCORE_DATA", REPO_ROOT.parent / "shared" / "data"))
