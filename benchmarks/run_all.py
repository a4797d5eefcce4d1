"""Run every `benchmarks/bench_*.py` module and rewrite BENCHMARKS.md and `benchmarks/results.json`.

    python -m benchmarks.run_all [--quick] [--only piano,engine,groove]

Each module exposes `run() -> list[dict]` (or `run(quick=...)`); a row has a `name`, a `median` (or
`value`), a `unit`, an optional `ratio` and a `note`. A module that fails to import or to run is
reported and skipped; the others still run. With `--only`, the modules left out keep their results
from the previous `results.json`, marked with their date.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
import traceback
from pathlib import Path

from benchmarks import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKDOWN = REPO / "BENCHMARKS.md"
RESULTS = HERE / "results.json"


def module_names() -> list[str]:
    """Short names (`piano` for `bench_piano.py`) of every benchmark module, sorted."""
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def run_module(name: str, quick: bool) -> dict:
    """Import `benchmarks.bench_<name>` and run it; the result holds rows or why there are none."""
    started = time.perf_counter()
    result = {"module": f"benchmarks.bench_{name}", "date": machine.snapshot()["date"],
              "load_start": machine.load_average(), "quick": quick}
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
    except Exception as error:  # any import failure (missing dependency, syntax error) skips the module
        return {**result, "status": "skipped", "rows": [], "note": f"import failed: {error!r}"}
    result["summary"] = (inspect.getdoc(module) or "").split("\n\n")[0].replace("\n", " ")
    takes_quick = "quick" in inspect.signature(module.run).parameters
    try:
        rows = module.run(quick=quick) if takes_quick else module.run()
        status, note = "ok", "" if takes_quick or not quick else "no quick mode: full run"
    except Exception as error:  # a failing benchmark must not lose the others' results
        rows, status = [], "failed"
        note = f"run() raised {error!r}"
        traceback.print_exc()
    return {**result, "status": status, "rows": rows, "note": note,
            "seconds": round(time.perf_counter() - started, 1), "load_end": machine.load_average()}


def _cell(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def module_table(result: dict) -> list[str]:
    """Markdown lines of one module's section."""
    name = result["module"].removeprefix("benchmarks.bench_")
    lines = [f"## {name}", ""]
    if result.get("summary"):
        lines += [result["summary"], ""]
    when = f"Run {result.get('date', '?')}"
    if result.get("seconds") is not None:
        when += f" in {result['seconds']} s"
    when += f"; load average {_cell(result.get('load_start'))} at start, {_cell(result.get('load_end'))} at end"
    if result.get("carried"):
        when += " (carried over from an earlier run: not re-run this time)"
    if result.get("quick"):
        when += "; **quick mode: tiny counts, not for comparison**"
    lines += [when + ".", ""]
    if result["status"] != "ok" or result.get("note"):
        lines += [f"**{result['status']}**: {result.get('note') or 'no note'}", ""]
    if result["rows"]:
        lines += ["| Benchmark | Median | Unit | Ratio | Notes |", "|---|---:|---|---:|---|"]
        for row in result["rows"]:
            median = row.get("median", row.get("value"))
            lines.append(f"| {_cell(row.get('name'))} | {_cell(median)} | {_cell(row.get('unit'))} "
                         f"| {_cell(row.get('ratio'))} | {_cell(row.get('note'))} |")
        lines.append("")
    return lines


def render(facts: dict, results: list[dict]) -> str:
    """The whole BENCHMARKS.md."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks.run_all` (`make bench`); raw results in `benchmarks/results.json`.",
        "Every ratio compares numbers measured side by side in the same run (same process, same machine",
        "state), so ratios travel between machines better than absolute timings do.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {_cell(facts['cpu'])} ({facts['cores']} cores) |",
        f"| CPU flags | {_cell(' '.join(facts.get('cpu_flags', [])))} |",
        f"| Python | {facts['python']} |",
        f"| torch | {facts['torch']} ({facts['torch_threads']} threads by default) |",
        f"| Platform | {_cell(facts['platform'])} |",
        f"| Date | {facts['date']} |",
        f"| Load average (1 min) | {_cell(facts['load_start'])} at start, {_cell(facts['load_end'])} at end |",
        "",
    ]
    if facts.get("busy"):
        lines += [f"> **Warning:** the load average was above {machine.BUSY_LOAD} during this run: the machine was",
                  "> busy with other work, so timings are noisy and multi-thread numbers suffer most.", ""]
    for result in results:
        lines += module_table(result)
    return "\n".join(lines).rstrip() + "\n"


def previous_results(path: Path = RESULTS) -> dict[str, dict]:
    """Module results of the last run, by short name (empty when there is none)."""
    try:
        modules = json.loads(path.read_text())["modules"]
    except (OSError, ValueError, KeyError):
        return {}
    return {result["module"].removeprefix("benchmarks.bench_"): result for result in modules}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts (smoke check; numbers not comparable)")
    parser.add_argument("--only", help="comma-separated short names, e.g. piano,engine")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="report to write")
    parser.add_argument("--json", type=Path, default=RESULTS, help="raw results to write")
    args = parser.parse_args(argv)
    available = module_names()
    chosen = available if not args.only else [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in available]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")
    facts = machine.snapshot()
    earlier = previous_results(args.json)
    results = []
    for name in available:
        if name not in chosen:
            if name in earlier:
                results.append({**earlier[name], "carried": True})
            continue
        print(f"== {name}", flush=True)
        result = run_module(name, args.quick)
        for row in result["rows"]:
            print(f"   {row.get('name')}: {row.get('median', row.get('value'))} {row.get('unit')}"
                  f" (ratio {row.get('ratio')})", flush=True)
        if result["status"] != "ok" or result["note"]:
            print(f"   {result['status']}: {result['note']}", flush=True)
        results.append(result)
    facts = machine.finish(facts)
    args.json.write_text(json.dumps({"machine": facts, "quick": args.quick, "modules": results}, indent=2) + "\n")
    args.markdown.write_text(render(facts, results))
    print(f"wrote {args.markdown} and {args.json}")
    return 0 if all(r["status"] != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
