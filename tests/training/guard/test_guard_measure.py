"""The guard against the exact check: planted copies timed both ways, and the counts of the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encore.training.challenge.chunks import ChunkConfig
from encore.training.guard.build import build_index
from encore.training.guard.measure import MeasureConfig, SetResult, measure
from encore.training.guard.passages import planted_copy, read_timed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_a_planted_copy_moves_pitches_and_keeps_beats_and_seconds_together() -> None:
    source = read_timed(FIXTURES / "pop909" / "001.mid")  # 90 bpm: 1.5 beats a second
    config = ChunkConfig()
    exact = planted_copy(source, 20.0, config, 0, 0.0, np.random.default_rng(0))
    up = planted_copy(source, 20.0, config, 4, 0.0, np.random.default_rng(0))
    inside = source.select((source.end_s > 20.0) & (source.onset_s < 26.0))
    assert len(exact) == len(inside) and np.array_equal(up.pitch, exact.pitch + 4)
    assert np.allclose(np.diff(exact.onset_beats), np.diff(exact.onset_s) * 1.5, atol=1e-3)
    jittered = planted_copy(source, 20.0, config, 0, 0.03, np.random.default_rng(0))
    moved = np.abs(np.sort(jittered.onset_s) - np.sort(exact.onset_s))
    assert 0 < np.median(moved) < 0.1


def test_false_positives_and_negatives_are_what_one_side_alone_flags() -> None:
    result = SetResult("x", chunks=100, skipped=3, exact=10, guard=14, both=9)
    assert (result.false_positives, result.false_negatives) == (5, 1)
    assert result.row() == "| x | 100 | 3 | 10 | 14 | 5 (5.6%) | 1 (10.0%) |"


def test_the_measurement_runs_on_a_small_cache(mini_cache: Path, tmp_path: Path) -> None:
    index = build_index(mini_cache, progress=False)[0].save(tmp_path / "fingerprints.npz")
    results, costs = measure(MeasureConfig(mini_cache, index, copies=12, held_out_chunks=20,
                                                   corpus_cache=tmp_path), progress=False)
    by_name = {result.name.split(":")[-1].strip(): result for result in results}
    exact = by_name["exact copies"]
    assert exact.chunks + exact.skipped == 12 and exact.exact >= exact.chunks // 2
    assert exact.guard >= exact.chunks - 2  # the notes the model learned, so the guard sees them whole
    assert all(result.both <= min(result.exact, result.guard) for result in results)
    assert len(costs) == sum(result.chunks for result in results) and np.all(costs > 0)
