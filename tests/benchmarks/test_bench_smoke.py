"""Smoke test of the benchmark code: tiny counts on the tiny model, rows well formed. Speed is never
asserted here; `make bench` measures it."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package; `python -m pytest` finds it anyway
    sys.path.insert(0, str(REPO))

from benchmarks import bench_piano, machine, run_all, timing  # noqa: E402
from benchmarks.held_out import held_out_windows  # noqa: E402
from encore.models.piano.checkpoint import PianoBundle  # noqa: E402

ROW_KEYS = {"name", "median", "unit", "ratio", "note"}


@pytest.fixture(scope="module")
def piano_rows() -> list[dict]:
    return bench_piano.run(quick=True, bundle=PianoBundle.random("tiny"))


def test_piano_rows_are_well_formed(piano_rows: list[dict]) -> None:
    names = [row["name"] for row in piano_rows]
    assert len(names) == len(set(names))
    for row in piano_rows:
        assert set(row) == ROW_KEYS, row
        assert isinstance(row["unit"], str) and row["unit"]
        assert isinstance(row["note"], str)
        if row["median"] is None:
            assert row["note"].startswith("skipped"), row
            continue
        assert math.isfinite(row["median"]) and row["median"] > 0, row
        assert row["ratio"] is None or (math.isfinite(row["ratio"]) and row["ratio"] > 0), row


@pytest.mark.parametrize("threads", ["1 thread", "2 threads"])
@pytest.mark.parametrize("stem", [
    "memory read bandwidth", "fp32 weight-read floor, B=1", "decode cached, B=1", "decode cached, B=8",
    "decode cached, B=32", "decode recompute, B=1", "decode recompute, B=32", "prefill 32 tokens, B=1",
    "generate ours, B=1", "generate ours, B=32", "stream step, B=1", "int8 decode, B=1",
])
def test_piano_rows_cover_every_measurement(piano_rows: list[dict], stem: str, threads: str) -> None:
    assert f"{stem}, {threads}" in {row["name"] for row in piano_rows}


@pytest.mark.parametrize("stem", ["decode cached, B=1", "decode recompute, B=8", "prefill 32 tokens, B=1",
                                  "generate ours, B=1", "generate hf, B=1", "stream step, B=1"])
def test_timed_rows_state_their_spread(piano_rows: list[dict], stem: str) -> None:
    by_name = {row["name"]: row for row in piano_rows}
    note = by_name[f"{stem}, 1 thread"]["note"]
    assert "n=2" in note or "n=3" in note, note


def test_recompute_and_cached_rows_share_one_context(piano_rows: list[dict]) -> None:
    by_name = {row["name"]: row for row in piano_rows}
    context = bench_piano.QUICK.decode_context
    assert f"{context} tokens in attention" in by_name["decode cached, B=1, 1 thread"]["note"]
    assert f"same {context} tokens" in by_name["decode recompute, B=1, 1 thread"]["note"]


def test_generate_rows_say_both_include_the_cache_allocation(piano_rows: list[dict]) -> None:
    note = {row["name"]: row for row in piano_rows}["generate ours, B=1, 1 thread"]["note"]
    assert "cache allocation included in both" in note


def test_held_out_loss_rows(piano_rows: list[dict]) -> None:
    losses = {row["name"]: row for row in piano_rows if row["name"].startswith("held-out loss")}
    assert set(losses) == {"held-out loss fp32", "held-out loss int8"}
    fp32 = losses["held-out loss fp32"]
    assert fp32["unit"] == "nats/token"
    assert fp32["note"].startswith("skipped: no data at") or "test-split" in fp32["note"], fp32
    assert "tests/fixtures" not in fp32["note"]


def test_held_out_windows_come_from_test_split_pieces() -> None:
    bundle = PianoBundle.random("tiny")
    held_out = held_out_windows(bundle, 32, 4)
    if held_out.windows is None:
        pytest.skip(f"piano data not available: {held_out.note}")
    assert held_out.windows.shape == (4, 32)
    assert all(file.split == "test" for file in held_out.files)
    assert len({file.piece for file in held_out.files}) == 4
    again = held_out_windows(bundle, 32, 4)
    assert again.windows is not None and bool((again.windows == held_out.windows).all())  # a fixed sample


def test_held_out_loss_is_skipped_without_data(tmp_path: Path) -> None:
    missing = tmp_path / "no-data"
    held_out = held_out_windows(PianoBundle.random("tiny"), 32, 2, data_root=missing)
    assert held_out.windows is None and held_out.note == f"skipped: no data at {missing}"
    rows = bench_piano.loss_rows(PianoBundle.random("tiny").model, None, held_out, "tiny")
    assert [row["median"] for row in rows] == [None]
    assert rows[0]["note"] == f"skipped: no data at {missing}"


def test_spread_describes_median_and_range() -> None:
    few = timing.Spread.of([3.0, 1.0, 2.0])
    assert few.median == 2.0 and few.describe("ms") == "n=3, min-max 1 to 3 ms"
    many = timing.Spread.of(list(range(1, 10)))
    assert many.describe() == "n=9, IQR 3 to 7"
    assert timing.Spread.of([0.5]).inverted(1.0).median == 2.0


def test_machine_facts() -> None:
    facts = machine.finish(machine.snapshot())
    assert facts["cores"] >= 1 and facts["torch"] and facts["cpu"]
    assert isinstance(facts["busy"], bool)


def test_report_renders_rows_and_skips() -> None:
    facts = {**machine.snapshot(), "load_start": 3.0, "load_end": 2.0, "busy": True}
    results = [
        {"module": "benchmarks.bench_piano", "status": "ok", "note": "", "date": facts["date"],
         "rows": [{"name": "decode | B=1", "median": 1.23456, "unit": "ms/token", "ratio": None, "note": "n"}]},
        {"module": "benchmarks.bench_engine", "status": "ok", "note": "",
         "rows": [{"name": "jitter_p50", "value": 0.5, "unit": "ms", "note": ""}]},
        {"module": "benchmarks.bench_groove", "status": "skipped", "note": "import failed: boom", "rows": []},
    ]
    text = run_all.render(facts, results)
    assert "## Machine" in text and "**Warning:**" in text
    assert "| decode \\| B=1 | 1.235 | ms/token | — | n |" in text
    assert "| jitter_p50 | 0.5 | ms |" in text
    assert "**skipped**: import failed: boom" in text


def test_runner_lists_the_modules() -> None:
    assert {"piano", "engine"} <= set(run_all.module_names())


def test_a_module_that_fails_to_import_is_skipped_with_a_note() -> None:
    result = run_all.run_module("no_such_benchmark", quick=True)
    assert result["status"] == "skipped" and result["rows"] == []
    assert "import failed" in result["note"]
