"""The copy-check benchmark without the shared data: one row saying it was skipped and where it looked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_plagiarism  # noqa: E402


def test_skips_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCORE_DATA", str(tmp_path / "nowhere"))
    rows = bench_plagiarism.run(quick=True)
    assert len(rows) == 1 and rows[0]["note"] == f"skipped: no data at {tmp_path / 'nowhere'}"
