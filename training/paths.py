"""Where the shared datasets, the run folders and the caches are; the split names.

In a source checkout (editable install or `pytest` from the repository) run folders and caches go under
the checkout: `runs/...` and `.cache/...`. Installed into site-packages there is no checkout, so they
are relative to the current working directory instead (resolved when used, not at import).
"""

from __future__ import annotations

import os
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "validation", "test")


def _checkout_root() -> Path | None:
    """The source checkout holding this package, or None when installed (site-packages)."""
    root = Path(__file__).resolve().parents[1]
    is_checkout = (root / "pyproject.toml").is_file() and (root / "training" / "paths.py").is_file()
    return root if is_checkout else None


CHECKOUT_ROOT: Path | None = _checkout_root()
"""The repository folder when running from a source checkout, else None."""

REPO_ROOT: Path = CHECKOUT_ROOT or Path()
"""Base of default run folders and caches: the checkout, or (installed) the relative path `.`, which
resolves against the current working directory each time it is used."""


def runs_dir(name: str) -> Path:
    """Default run folder `runs/<name>` (training state, loss curves, exports)."""
    return REPO_ROOT / "runs" / name


def cache_dir(name: str) -> Path:
    """Default cache folder `.cache/<name>` (prepared data)."""
    return REPO_ROOT / ".cache" / name


def default_data_root() -> Path:
    """`$ENCORE_DATA` if set, else `../shared/data` beside the checkout (installed: beside the cwd)."""
    if os.environ.get("ENCORE_DATA"):
        return Path(os.environ["ENCORE_DATA"])
    return (CHECKOUT_ROOT or Path.cwd()).parent / "shared" / "data"
