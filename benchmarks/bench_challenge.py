"""Challenge entries on CPU: batched decode throughput against the batch size, and the wall time of an
entry scaled to an hour of music (the issue's budget: 10 minutes).

- `challenge stream steps, B=..., T threads`: tokens/s of `PianoStream.step_batch` (model, grammar,
  sampler, decoders of all B streams) after priming with a fixture seed, the int8 shipped checkpoint,
  over `steps` steps past the cache's capacity (so attention reads a full window); ratio to B=1.
  Past B=8 the step time grows faster than B: attention reads every stream's full fp32 KV cache
  (about 8 MB per token over the 4 layers), which batching does not share, while the int8 weights
  (14 MB) are read once per step whatever B.
- `challenge_entry_minutes_per_hour`: wall time of `make_entry` (priming, sampling, guards,
  segment joins; not loading or writing) for a shorter entry at the default batch size, scaled
  linearly to 3600 s: the cost per token is flat once every stream's rolling cache is full, and
  the note says the measured length. Ratio: to the 10-minute budget (below 1 is within it).

Run alone with `python -m benchmarks.bench_challenge [--quick]`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.stream import PianoStream, seed_token_ids
from encore.training.challenge.entry import DEFAULT_BATCH, EntryConfig, make_entry
from encore.training.challenge.rules import TARGET_S

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "fixtures" / "pop909" / "001.mid"
BUDGET_MIN = 10.0
#: (batch, threads) pairs of the throughput rows.
FULL = {"runs": ((1, 1), (4, 1), (8, 1), (16, 1), (32, 1), (8, 2), (16, 2)), "steps": 100, "entry_s": 600.0}
QUICK = {"runs": ((1, 1), (4, 1)), "steps": 8, "entry_s": 8.0}


def steps_per_s(bundle: PianoBundle, batch: int, steps: int) -> float:
    """Batch steps per second of a primed stream whose cache is already full (first pass untimed)."""
    stream = PianoStream(bundle, seed=0, batch_size=batch)
    stream.prime(seed_token_ids(bundle, SEED))
    while stream.cache.tokens_seen < stream.cache.capacity:
        stream.step_batch()
    started = time.perf_counter()
    for _ in range(steps):
        stream.step_batch()
    return steps / (time.perf_counter() - started)


def run(quick: bool = False, bundle: PianoBundle | None = None) -> list[dict]:
    """Benchmark rows: name, median, unit, ratio and a note."""
    plan = QUICK if quick else FULL
    source = "given model" if bundle is not None else "shipped checkpoint, int8"
    bundle = bundle or load_piano(None, int8=True)
    threads_before = torch.get_num_threads()
    rows = []
    try:
        base = None
        for batch, threads in plan["runs"]:
            torch.set_num_threads(threads)
            tokens_s = steps_per_s(bundle, batch, plan["steps"]) * batch
            base = base or tokens_s
            rows.append({
                "name": f"challenge stream steps, B={batch}, {threads} thread{'s' * (threads > 1)}",
                "median": round(tokens_s, 1), "unit": "tokens/s", "ratio": round(tokens_s / base, 2),
                "note": f"{plan['steps']} steps after the cache is full, one timing; ratio to B=1, 1 thread; {source}",
            })
        torch.set_num_threads(1)
        seconds = plan["entry_s"]
        entry = make_entry(bundle, SEED, EntryConfig(seconds=seconds, batch_size=DEFAULT_BATCH), random_seed=0)
        minutes = entry.wall_s * TARGET_S / seconds / 60
        rows.append({
            "name": "challenge_entry_minutes_per_hour",
            "median": round(minutes, 2), "unit": "min per hour of music", "ratio": round(minutes / BUDGET_MIN, 3),
            "note": (f"a {seconds:g} s entry made in {entry.wall_s:.1f} s ({entry.tokens} tokens, "
                     f"{entry.tokens_per_s:.0f} tokens/s, {len(entry.segments)} segments, re-primes "
                     f"{entry.reprimes or 0}), scaled to {TARGET_S:g} s; B={DEFAULT_BATCH}, 1 thread; "
                     f"ratio to the {BUDGET_MIN:g}-minute budget; {source}"),
        })
    finally:
        torch.set_num_threads(threads_before)
    return rows


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']}: {result['median']} {result['unit']} (ratio {result['ratio']}) - {result['note']}")
