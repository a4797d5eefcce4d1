"""The engine benchmark's control-latency rows (`benchmarks.bench_engine` runs them).

- `control_latency_p50|p95`: a real-time show of the shipped piano (int8, as CPU shows load it) at 120
  bpm under 100 random sampling changes; per change, submission to the moment the first note rendered
  under it sounds (`ShowReport.control_latencies`), with the shipped commit horizon (100 ms) and reach
  back (to the first onset at least 50 ms ahead that the piano can render again in time);
  `control_latency_p50_no_rewind`: the same show and changes with rewinds off. The notes give each
  run's underruns, jitter p99 and note density.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from encore.engine.commands.sampling import SetSampling
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ShowReport, percentile
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.models.shipped import shipped_folder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = shipped_folder("piano", "default")
#: The control-latency shows: a dense seed, how many random changes, how far apart, and the show around them.
CONTROL_SEED = REPO / "setlists" / "seeds" / "chpn-p8.mid"
CONTROLS = 100
CONTROL_GAP_S = (0.3, 0.6)
CONTROL_WARMUP_S = 3.0
CONTROL_TAIL_S = 2.0


def int8_piano_voice(seed: int = 0) -> tuple[Voice, str]:
    """The shipped piano with int8 weights, as shows on a CPU load it (the tiny random model without it)."""
    import torch

    from encore.engine.voices.piano import PianoVoice
    from encore.models.piano.checkpoint import PianoBundle, load_piano
    from encore.models.piano.stream import PianoStream

    torch.set_num_threads(1)
    if (DEFAULT_CHECKPOINT / "model.safetensors").is_file():
        bundle, which = load_piano(DEFAULT_CHECKPOINT, int8=True), "piano-default int8"
    else:
        bundle, which = PianoBundle.random(preset="tiny"), "tiny random"
    return PianoVoice(PianoStream(bundle, seed=seed), CONTROL_SEED), which


@dataclass(frozen=True)
class ControlRun:
    """One real-time show under random sampling changes.

    Attributes:
        latencies_s: Per change, submission to the first note rendered under it sounding.
        report: The show's report (underruns, jitter).
        notes_per_s: Note-ons sent per second of show: how dense the piece was.
        onset_gap_s: Median time between two distinct onsets sent: a change waits for the next onset after
            the commit horizon, about half of this on average.
        which: The piano played.
    """

    latencies_s: list[float]
    report: ShowReport
    notes_per_s: float
    onset_gap_s: float
    which: str


def control_changes(count: int, seed: int = 0) -> list[tuple[float, SetSampling]]:
    """`count` random sampling changes of the piano, each after a random gap (seconds)."""
    rng = random.Random(seed)
    return [(rng.uniform(*CONTROL_GAP_S),
             SetSampling("piano", temperature=round(rng.uniform(0.6, 1.3), 2), top_p=round(rng.uniform(0.8, 1.0), 2),
                         min_p=rng.choice([0.0, 0.02, 0.05]), repetition_penalty=rng.choice([1.0, 1.1, 1.2])))
            for _ in range(count)]


def control_run(commit_s: float | None, count: int = CONTROLS) -> ControlRun:
    """A real-time show at 120 bpm with `count` random sampling changes (`commit_s=None`: rewinds off)."""
    piano, which = int8_piano_voice()
    engine = Engine([piano], [MemorySink()], EngineConfig(bpm=120.0, commit_s=commit_s))
    changes = control_changes(count)

    def operator() -> None:
        while not engine.playing and not engine.ended:
            time.sleep(0.01)
        time.sleep(CONTROL_WARMUP_S)  # the piano is a bar ahead before the first change
        for gap, change in changes:
            time.sleep(gap)
            engine.submit(change)

    sink = engine.sinks[0]
    assert isinstance(sink, MemorySink)
    thread = threading.Thread(target=operator)
    thread.start()
    report = asyncio.run(engine.run(CONTROL_WARMUP_S + sum(gap for gap, _ in changes) + CONTROL_TAIL_S))
    thread.join()
    latencies = [c.seconds for c in report.control_latencies if c.command == "SetSampling"]
    onsets = sorted({round(e.time, 4) for e in sink.events if e.is_note_on})
    gaps = [b - a for a, b in zip(onsets, onsets[1:], strict=False)]
    return ControlRun(latencies, report, report.notes_sent / max(report.seconds, 1e-9),
                      statistics.median(gaps) if gaps else 0.0, which)


def control_latency_rows() -> list[dict]:
    runs = {"rewind": control_run(0.1), "no_rewind": control_run(None)}
    for label, run in runs.items():
        if not run.latencies_s:
            return [{"name": "control_latency_p50", "value": None, "unit": "s",
                     "note": f"FAILED: no latency measured ({label})"}]
    on, off = runs["rewind"], runs["no_rewind"]
    rows = []

    def about(run: ControlRun) -> str:
        report = run.report
        return (f"{len(run.latencies_s)} of {CONTROLS} changes heard, underruns {report.counts.underruns} "
                f"({report.counts.shifted} shifted, {report.counts.dropped} dropped), jitter p99 "
                f"{report.jitter_ms()['p99']:.3f} ms, {run.notes_per_s:.1f} notes/s, median gap between "
                f"onsets {1000 * run.onset_gap_s:.0f} ms")

    what = (f"{on.which}, seed {CONTROL_SEED.name}, 120 bpm, real time, {CONTROLS} random SetSampling changes "
            f"{CONTROL_GAP_S[0]}-{CONTROL_GAP_S[1]} s apart; submission to the first note rendered under the new "
            "setting sounding")
    rows.append({"name": "control_latency_p50", "value": round(percentile(on.latencies_s, 0.5), 3), "unit": "s",
                 "note": f"shipped: commit horizon 100 ms, reaching back to the piano's first onset at least 50 ms "
                         f"ahead that it can render again in time (its decoding speed, 1.5x margin); the latency is "
                         f"that, then the wait for the piece's next onset; {what}; "
                         f"{about(on)}; target <= 0.15 s"})
    rows.append({"name": "control_latency_p95", "value": round(percentile(on.latencies_s, 0.95), 3), "unit": "s",
                 "note": f"same run; max {max(on.latencies_s):.3f} s; target <= 0.25 s"})
    rows.append({"name": "control_latency_p50_no_rewind", "value": round(percentile(off.latencies_s, 0.5), 3),
                 "unit": "s", "note": f"the same show and changes with rewinds off (commit_s=None): what was "
                                      f"rendered plays out first; p95 {percentile(off.latencies_s, 0.95):.3f} s; "
                                      f"{about(off)}"})
    return rows
