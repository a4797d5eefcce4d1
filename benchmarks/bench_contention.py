"""Contention: the band set in real time, headless and with the terminal UI in tmux, each alone and beside a process spinning on one core.

    python -m benchmarks.bench_contention [--seconds 30] [--runs 3] [--cases headless,ui+spin]

Each run is a fresh process (`benchmarks.contention_show`) playing `setlists/band.toml` (piano and the
drums following it) for `SECONDS` in real time, recording a MIDI file and a WAV as `encore play --record
--wav` does: `headless` as `encore play --headless --realtime`, `ui` with the terminal UI polling at
`POLL_HZ` in a real terminal (a private tmux server, `SIZE`). The `+spin` cases start
`python3 -c "while True: pass"` before the show and kill it after. The cases take turns, `RUNS` rounds,
so a change in the machine's load falls on all of them; each row is the median over a case's runs.

Per case: notes lost (late beyond the underrun policy's shift; target 0), notes shifted (sounded late),
underruns (target 0), the sender's jitter p50/p99/max (target p99 <= 1 ms) and the piano's decoding
speed over the show. Each note lists every run's value, the garbage collector's longest pause, and
how the sender thread ran (SCHED_FIFO or why not). docs/busy-machine.md reads the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETLIST = REPO / "setlists" / "band.toml"
SECONDS = 30.0
QUICK_SECONDS = 10.0
RUNS = 3
POLL_HZ = 30.0
SIZE = (110, 34)
CASES = ("headless", "headless+spin", "ui", "ui+spin")
START_TIMEOUT_S = 240.0
"""Loading the models and starting the show on a loaded machine, beyond the show's own length."""
MEASURES = (  # key in the show's JSON, row name, unit
    ("lost", "lost", "notes"), ("shifted", "shifted", "notes"), ("underruns", "underruns", "renders"),
    ("jitter_p50_ms", "jitter_p50", "ms"), ("jitter_p99_ms", "jitter_p99", "ms"), ("jitter_max_ms", "jitter_max", "ms"),
    ("piano_tokens_per_s", "piano_tokens_per_s", "tok/s"),
)


@contextmanager
def spinner(on: bool) -> Iterator[None]:
    """A process spinning on one core while the block runs (nothing when not `on`)."""
    if not on:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        process.kill()
        process.wait()


def _show_command(out: Path, seconds: float, ui: bool) -> list[str]:
    return [sys.executable, "-m", "benchmarks.contention_show", str(SETLIST), "--seconds", str(seconds),
            "--out", str(out), *(["--ui", "--poll-hz", str(POLL_HZ)] if ui else [])]


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def headless_run(out: Path, seconds: float) -> None:
    """One headless show, its JSON written to `out`."""
    subprocess.run(_show_command(out, seconds, ui=False), cwd=REPO, env=_environment(), check=True,
                   timeout=START_TIMEOUT_S + seconds, stdout=subprocess.DEVNULL)


def ui_run(out: Path, seconds: float) -> None:
    """One show with the UI drawing in a private tmux server's terminal of `SIZE`, its JSON written to `out`."""
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed (apt-get install tmux; `make test` does)")
    socket = f"encore-contention-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    done = out.with_suffix(".exit")
    command = f"cd {REPO} && OMP_NUM_THREADS=1 {' '.join(_show_command(out, seconds, ui=True))}; echo $? > {done}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "show", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                    command], check=True, timeout=30)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S + seconds
        while not done.exists() or not done.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the UI show did not end within {START_TIMEOUT_S + seconds:.0f} s")
            time.sleep(0.5)
        if done.read_text().strip() != "0":
            raise RuntimeError(f"the UI show exited with {done.read_text().strip()}")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)


def one_run(case: str, folder: Path, index: int, seconds: float) -> dict:
    """Play `case` once; what the show measured."""
    out = folder / f"{case.replace('+', '-')}-{index}.json"
    with spinner("+spin" in case):
        (ui_run if case.startswith("ui") else headless_run)(out, seconds)
    result = json.loads(out.read_text())
    result["piano_tokens_per_s"] = result["tokens_per_s"].get("piano")
    return result


def rows_for(case: str, runs: Sequence[dict], seconds: float) -> list[dict]:
    """The rows of one case: the median of each measure over its runs, every run's value in the note."""
    rows = []
    for key, name, unit in MEASURES:
        values = [run[key] for run in runs if run.get(key) is not None]
        median = round(statistics.median(values), 3) if values else None
        each = ", ".join(f"{value:.3g}" for value in values)
        note = f"median of {len(values)} run(s) of {seconds:.0f} s: {each}"
        if key == "lost":
            lost_by = {voice: sum(run["by_voice"].get(voice, {}).get("dropped", 0) for run in runs)
                       for voice in runs[0]["by_voice"]}
            note += (f"; by voice over all runs {lost_by}; held {[run['held'] for run in runs]}; notes sent "
                     f"{[run['notes_sent'] for run in runs]}; sender {runs[0]['sender']}; target 0")
        if key == "jitter_p99_ms":
            note += f"; gc longest pause {max(run['gc_max_ms'] for run in runs):.1f} ms; target <= 1 ms"
        if key == "underruns":
            note += "; target 0"
        rows.append({"name": f"contention_{name}[{case}]", "median": median, "unit": unit, "note": note})
    return rows


def table(results: dict[str, list[dict]]) -> str:
    """The medians side by side, one line per case."""
    header = f"{'case':<14}" + "".join(f"{name:>20}" for _, name, _ in MEASURES)
    lines = [header]
    for case, runs in results.items():
        cells = []
        for key, _, _ in MEASURES:
            values = [run[key] for run in runs if run.get(key) is not None]
            cells.append(f"{statistics.median(values):>20.3g}" if values else f"{'-':>20}")
        lines.append(f"{case:<14}" + "".join(cells))
    return "\n".join(lines)


def run(quick: bool = False, seconds: float | None = None, runs: int | None = None,
        cases: Sequence[str] = CASES) -> list[dict]:
    """Every case, `runs` rounds of `seconds` each (quick: one round of `QUICK_SECONDS`); rows for the runner."""
    seconds = seconds or (QUICK_SECONDS if quick else SECONDS)
    runs = runs or (1 if quick else RUNS)
    unknown = [case for case in cases if case not in CASES]
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; cases are {', '.join(CASES)}")
    results: dict[str, list[dict]] = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="encore-contention-") as folder:
        for index in range(runs):
            for case in cases:
                results[case].append(one_run(case, Path(folder), index, seconds))
                print(f"   {case} run {index + 1}: {results[case][-1]['summary']}", flush=True)
    print(table(results), flush=True)
    return [row for case, case_runs in results.items() for row in rows_for(case, case_runs, seconds)]


def main() -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help=f"length of each show (default {SECONDS:.0f})")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds of every case (default {RUNS})")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = run(seconds=args.seconds, runs=args.runs, cases=[c.strip() for c in args.cases.split(",") if c.strip()])
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
