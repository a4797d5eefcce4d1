"""Smoke test of the challenge benchmark: tiny counts on the tiny model, rows well formed (speed is
never asserted here)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import bench_challenge  # noqa: E402
from encore.models.piano.checkpoint import PianoBundle  # noqa: E402


def test_challenge_rows_are_well_formed() -> None:
    rows = bench_challenge.run(quick=True, bundle=PianoBundle.random("tiny"))
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names)) and names[-1] == "challenge_entry_minutes_per_hour"
    assert "challenge stream steps, B=4, 1 thread" in names
    for row in rows:
        assert set(row) == {"name", "median", "unit", "ratio", "note"}
        assert math.isfinite(row["median"]) and row["median"] > 0
    assert "scaled to 3600 s" in rows[-1]["note"]
