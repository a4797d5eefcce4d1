"""The follow-piano measurement (`encore.training.groove.follow_eval`) on a shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encore.training.groove import follow_eval
from encore.training.groove.eval import write_results


def test_phi_of_step_patterns() -> None:
    eighths = follow_eval.STRAIGHT_EIGHTHS
    assert follow_eval.phi(eighths, eighths) == pytest.approx(1.0)
    assert follow_eval.phi(eighths, 1 - eighths) == pytest.approx(-1.0)
    assert follow_eval.phi(eighths, np.ones(32)) == 0.0  # a constant pattern correlates with nothing


def test_the_lock_follows_the_figure_where_the_prior_plays_eighths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow_eval, "SEEDS", 6)
    results = follow_eval.evaluate(["factorized"])
    rows = results["models"]["factorized"]
    assert set(rows) == {"prior", "rerank", "lock"}
    figure = "3-3-2 sixteenths"
    assert rows["prior"][figure]["phi_straight_eighths"] > rows["prior"][figure]["phi_figure"]
    assert rows["lock"][figure]["phi_figure"] > rows["lock"][figure]["phi_straight_eighths"] + 0.15
    assert "| factorized | lock |" in follow_eval.format_report(results)


def test_results_files_keep_what_the_other_evaluation_wrote(tmp_path: Path) -> None:
    path = tmp_path / "groove-eval.json"
    write_results(path, {"models": {"aux": 1}, "test_windows": 5})
    write_results(path, {"follow": {"seeds": 16}})
    write_results(path, {"models": {"aux": 2}, "test_windows": 5})
    assert json.loads(path.read_text()) == {"models": {"aux": 2}, "test_windows": 5, "follow": {"seeds": 16}}
