"""One show of the contention benchmark (`benchmarks/bench_contention.py`), in a process of its own.

    python -m benchmarks.contention_show setlists/band.toml --seconds 30 --out run.json [--ui] [--poll-hz 30]

Plays the setlist in real time as `encore play` does, recording to a MIDI file and rendering a WAV
beside it (in `--out`'s folder): headless (`--headless --realtime`), or with the terminal UI drawing on
this process's terminal (the benchmark runs it in tmux). Writes what the show measured as JSON:
notes sent, the scheduler's counts (underruns, shifted, held, lost) in total and per voice, the sender's
jitter, each decoding voice's tokens per second over the show, how the sender thread ran, and the
garbage collector's pauses during the show.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import sys
import time
from pathlib import Path

from encore.engine.report import ShowReport
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.surfaces import Surface
from encore.stage.cli.play import perform_until_signalled


class GcPauses:
    """Every collection's duration while installed (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.pauses_s: list[float] = []
        self._started = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, _: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_s.append(time.perf_counter() - self._started)


def measures(report: ShowReport, gc_pauses_s: list[float]) -> dict[str, object]:
    """What one show measured, JSON-safe."""
    jitter = report.jitter_ms()
    counts = report.counts
    return {
        "seconds": report.seconds, "notes_sent": report.notes_sent, "notes": counts.notes,
        "underruns": counts.underruns, "shifted": counts.shifted, "held": counts.held, "lost": counts.lost,
        "by_voice": {name: dataclasses.asdict(each) for name, each in report.by_voice.items()},
        "jitter_p50_ms": jitter["p50"], "jitter_p99_ms": jitter["p99"], "jitter_max_ms": jitter["max"],
        "tokens_per_s": report.tokens_per_s, "sender": report.sender_scheduling,
        "gc_collections": len(gc_pauses_s), "gc_max_ms": 1000 * max(gc_pauses_s, default=0.0),
        "voice_failures": report.voice_failures, "summary": report.summary(),
    }


def play(setlist: Path, seconds: float, out: Path, ui: bool, poll_hz: float,
         config: dict[str, object] | None = None) -> dict[str, object]:
    """Play `setlist` for `seconds` in real time (with the UI on this terminal if `ui`), the engine's
    settings changed by `config` (`EngineConfig` fields: what a comparison varies); its measures."""
    options = PlayOptions(headless=not ui, realtime=True, seconds=seconds, record=out.with_suffix(".mid"),
                          wav=out.with_suffix(".wav"))
    show = Show.build(load_setlist(setlist), options)
    if config:
        show.engine.config = dataclasses.replace(show.engine.config, **config)
    surfaces: list[Surface] = []
    if ui:
        from encore.stage.ui.config import UiConfig
        from encore.stage.ui.surface import UiSurface

        surfaces.append(UiSurface(UiConfig(poll_hz=poll_hz)))
    with GcPauses() as pauses:
        report = asyncio.run(perform_until_signalled(show, surfaces))
    return measures(report, pauses.pauses_s)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("setlist", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write (the .mid and .wav go beside it)")
    parser.add_argument("--ui", action="store_true", help="the terminal UI on this terminal")
    parser.add_argument("--poll-hz", type=float, default=30.0, help="the UI's snapshot rate")
    parser.add_argument("--config", type=json.loads, default={},
                        help='engine settings to change, as JSON: \'{"render_priority": 1}\'')
    args = parser.parse_args(argv)
    result = play(args.setlist, args.seconds, args.out, args.ui, args.poll_hz, args.config)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"contention_show: {result['summary']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
