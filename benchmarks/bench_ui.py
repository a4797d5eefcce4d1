"""Terminal UI benchmark: sender jitter while the UI redraws at full rate, beside the same show without it.

    python -m benchmarks.bench_ui [--seconds 20]

Each run is a real-time show of the engine benchmark's probe (64 note-ons and 64 note-offs a second
at 240 bpm) with the piano decoding beside it (`benchmarks.bench_engine._piano_voice`), into a memory
sink. The UI run performs the same show with `StageApp` in the same event loop, headless under
Textual's `run_test` at 120x40, polling a snapshot and redrawing every panel `POLL_HZ` times a second
(Textual composes each frame as for a terminal; only the bytes are not written). The runs alternate,
`RUNS` pairs, and each row is the median over its runs.

- `ui_jitter_p99[no ui|ui 30 Hz]`: the sender's lateness p99 (target <= 1 ms with the UI);
- `ui_poll_ms`: the time of one UI poll (snapshot and every panel updated), median and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

from benchmarks.bench_engine import PROBE_BPM, _piano_voice, _probe_voice
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ShowReport, percentile
from encore.engine.show import Show
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.stage.ui.app import StageApp
from encore.stage.ui.config import UiConfig

SECONDS = 20.0
QUICK_SECONDS = 8.0
POLL_HZ = 30.0
RUNS = 2
SIZE = (120, 40)


def _show(seconds: float) -> tuple[Show, str]:
    piano, which = _piano_voice()
    voices: list[Voice] = [_probe_voice()] + ([piano] if piano is not None else [])
    return Show(Engine(voices, [MemorySink()], EngineConfig(bpm=PROBE_BPM)), seconds), which


def _without_ui(seconds: float) -> tuple[ShowReport, list[float]]:
    show, _ = _show(seconds)
    return asyncio.run(show.perform()), []


def _with_ui(seconds: float) -> tuple[ShowReport, list[float]]:
    show, _ = _show(seconds)
    app = StageApp(show, UiConfig(poll_hz=POLL_HZ))
    polls: list[float] = []
    app.poll = _timed(app.poll, polls)  # type: ignore[method-assign]

    async def main() -> ShowReport:
        async with app.run_test(size=SIZE):
            report = await show.perform()
        return report

    return asyncio.run(main()), polls


def _timed(poll: Callable[[], None], into: list[float]) -> Callable[[], None]:
    def timed() -> None:
        start = time.perf_counter()
        poll()
        into.append(time.perf_counter() - start)

    return timed


def run(quick: bool = False, seconds: float | None = None) -> list[dict]:
    """Alternating runs without and with the UI; rows for the benchmark runner."""
    seconds = seconds or (QUICK_SECONDS if quick else SECONDS)
    _, which = _show(1.0)
    label = f"ui {POLL_HZ:.0f} Hz"
    results: dict[str, list[ShowReport]] = {"no ui": [], label: []}
    polls: list[float] = []
    for _ in range(1 if quick else RUNS):
        results["no ui"].append(_without_ui(seconds)[0])
        report, timed = _with_ui(seconds)
        results[label].append(report)
        polls += timed
    rows = []
    for name, reports in results.items():
        p99 = statistics.median(report.jitter_ms()["p99"] for report in reports)
        p50 = statistics.median(report.jitter_ms()["p50"] for report in reports)
        worst = max(report.jitter_ms()["max"] for report in reports)
        events = sum(len(report.lateness) for report in reports)
        underruns = sum(report.counts.underruns for report in reports)
        note = (f"median of {len(reports)} run(s) of {seconds:.0f} s, {events} events in all; probe at "
                f"{PROBE_BPM:.0f} bpm + piano decoding ({which}); p50 {p50:.3f} ms, max {worst:.2f} ms, "
                f"underruns {underruns}; target p99 <= 1 ms")
        rows.append({"name": f"ui_jitter_p99[{name}]", "value": round(p99, 3), "unit": "ms", "note": note})
    if polls:
        ms = [1000 * s for s in polls]
        rows.append({"name": "ui_poll_ms", "median": round(statistics.median(ms), 3), "unit": "ms",
                     "note": f"one poll (snapshot + every panel), {len(ms)} polls at {POLL_HZ:.0f} Hz, "
                             f"{SIZE[0]}x{SIZE[1]}; p99 {percentile(ms, 0.99):.2f} ms"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="length of each run")
    parser.add_argument("--quick", action="store_true", help="one pair of runs")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.seconds), indent=2))


if __name__ == "__main__":
    main()
