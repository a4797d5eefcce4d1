"""A library of named two-bar grooves taken from the Groove MIDI Dataset, usable as `groove` inputs.

Stored as JSON in `models/checkpoints/groove-library.json` (built by `encore groove library`, see
`encore.training.groove.library`). Each entry: a name such as `funk-105`, the style, the bpm, the GMD file it
comes from, its start step, and the (32, 3) groove (hit, velocity, offset per 16th step).

    from encore.models.groove.library import load_library
    library = load_library()
    groove = library["funk-105"].groove          # (32, 3) float32
    funky = [g for g in library.values() if g.style == "funk"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.models.shipped import GROOVE_LIBRARY

#: Default location of the library.


@dataclass(frozen=True)
class NamedGroove:
    """One library groove.

    Attributes:
        name: unique name, `<style>-<bpm>` with a suffix when needed.
        style: GMD style (funk, rock, jazz, ...).
        bpm: tempo it was played at.
        source: GMD file name it was taken from.
        start: first 16th step of the window in that file.
        groove: (32, 3) array of hit, velocity, offset.
    """

    name: str
    style: str
    bpm: int
    source: str
    start: int
    groove: np.ndarray

    def to_json(self) -> dict:
        """JSON-ready dict, values rounded to 3 decimals."""
        return {
            "name": self.name,
            "style": self.style,
            "bpm": self.bpm,
            "source": self.source,
            "start": self.start,
            "groove": np.round(self.groove.astype(np.float64), 3).tolist(),
        }


def save_library(grooves: list[NamedGroove], path: str | Path = GROOVE_LIBRARY) -> None:
    """Write grooves as JSON, with the dataset's attribution."""
    document = {
        "about": "Two-bar grooves (hit, velocity 0-1, offset in 16th notes per step) from the Groove MIDI Dataset "
        "v1.0.0, CC BY 4.0, Gillick, Roberts, Engel, Eck and Bamman, ICML 2019.",
        "grooves": [groove.to_json() for groove in grooves],
    }
    Path(path).write_text(json.dumps(document, separators=(",", ":")) + "\n")


def load_library(path: str | Path = GROOVE_LIBRARY) -> dict[str, NamedGroove]:
    """Named grooves by name.

    Raises:
        EncoreError: when the file is missing or malformed.
    """
    try:
        document = json.loads(Path(path).read_text())
        return {
            entry["name"]: NamedGroove(
                entry["name"], entry["style"], int(entry["bpm"]), entry["source"], int(entry["start"]), np.asarray(entry["groove"], np.float32)
            )
            for entry in document["grooves"]
        }
    except FileNotFoundError as error:
        raise EncoreError(f"{path}: groove library not found") from error
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise EncoreError(f"{path}: malformed groove library ({error})") from error
