"""The checkpoints shipped inside the package, and one resolver from a name or a folder to a checkpoint.

A checkpoint is named by a folder path, by `"default"` (the family's default), or by a short name
that the family prefixes: `resolve_checkpoint("factorized", "groove")` is the shipped
`checkpoints/groove-factorized`. A folder that exists always wins over a shipped name.
"""

from __future__ import annotations

from pathlib import Path

from encore.models.errors import CheckpointError

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
"""Folder of the shipped checkpoints (inside the installed package)."""

GROOVE_LIBRARY = CHECKPOINTS / "groove-library.json"
"""The named grooves the drum voice plays from (written by `encore groove library`)."""

DEFAULTS = {"piano": "default", "groove": "factorized"}
"""Each family's default shipped checkpoint."""


def shipped_folder(family: str, name: str) -> Path:
    """Where the shipped checkpoint `name` of `family` lives (it may not exist)."""
    return CHECKPOINTS / f"{family}-{name}"


def resolve_checkpoint(name_or_folder: str | Path | None, family: str) -> Path:
    """The checkpoint folder for `name_or_folder` (None means the family's default).

    Raises:
        CheckpointError: neither a folder nor a shipped checkpoint of that name exists.
    """
    if family not in DEFAULTS:
        raise ValueError(f"unknown checkpoint family {family!r}; expected one of {', '.join(DEFAULTS)}")
    name = str(name_or_folder) if name_or_folder is not None else DEFAULTS[family]
    folder = Path(name)
    if folder.is_dir():
        return folder
    shipped = shipped_folder(family, name)
    if shipped.is_dir():
        return shipped
    known = sorted(p.name.removeprefix(f"{family}-") for p in CHECKPOINTS.glob(f"{family}-*") if p.is_dir())
    raise CheckpointError(f"{name}: no such checkpoint folder, and no shipped {family} checkpoint of that name "
                          f"(shipped: {', '.join(known) or 'none'})")
