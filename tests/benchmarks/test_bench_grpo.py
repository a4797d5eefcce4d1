"""Smoke test of the GRPO iteration benchmark in quick mode: rows well formed, phases add up to the iteration."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_grpo  # noqa: E402
from encore.engine.synth import DEFAULT_SOUNDFONT  # noqa: E402


@pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="FluidR3_GM SoundFont not installed")
def test_quick_rows_split_one_iteration() -> None:
    rows = bench_grpo.run(quick=True)
    assert [row["name"].split(",")[0] for row in rows] == [
        "grpo sampling", "grpo rendering", "grpo reward", "grpo update", "grpo iteration"]
    for row in rows:
        assert set(row) == {"name", "median", "unit", "ratio", "note"} and row["unit"] == "s"
        assert math.isfinite(row["median"]) and row["median"] >= 0
    assert sum(row["median"] for row in rows[:4]) == pytest.approx(rows[4]["median"], abs=0.05)
