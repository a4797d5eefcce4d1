"""Latency of the groove VAEs: encode plus decode of one two-bar window at batch 1 on CPU, 1 thread.

`run()` returns one row per model kind: the median wall time of `GrooveModel.humanize` (score encoder,
groove latent from the prior, 32-step autoregressive decode) and of `drumify` where the model has a
groove input (also locked to the groove, as follow-piano decodes), over `REPEATS` calls after `WARMUP`
calls, and its ratio to the window's duration at 120 bpm (two 4/4 bars = 4 s). The shipped checkpoint is
used when present, else an untrained model of the same shape (same cost). The `paper` setup's sizes
(512-unit encoders, 256-dim latents, 2-layer decoder) are timed untrained, to check the 20 ms budget
before training them. Run alone with `python -m benchmarks.bench_groove`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from benchmarks.timing import median_seconds
from encore.models.groove.config import MODEL_KINDS, GrooveConfig
from encore.models.groove.model import GrooveModel
from encore.models.groove.vae import GrooveVAE
from encore.models.shipped import shipped_folder

WARMUP = 5
REPEATS = 50
#: Two 4/4 bars at 120 bpm, in milliseconds.
WINDOW_MS = 4000.0


#: Kinds timed in the `paper` setup too.
PAPER_KINDS = ("factorized", "aux")


def _model(kind: str, setup: str = "encore") -> tuple[GrooveModel, str]:
    folder = shipped_folder("groove", kind)
    if setup == "encore" and (folder / "model.safetensors").is_file():
        return GrooveModel.load(folder), "shipped checkpoint"
    return GrooveModel(GrooveVAE(GrooveConfig.from_name(kind, setup))), f"untrained, {setup} setup"


def _median_ms(call: Callable[[], object]) -> float:
    return median_seconds(call, WARMUP, REPEATS) * 1000


def run() -> list[dict]:
    """Benchmark rows: name, median, unit, ratio (to the 4 s window) and a note."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    score = (rng.random((32, 9)) < 0.15).astype(np.float32)
    score[0, 0] = 1.0
    groove = np.stack([score.max(-1), score.max(-1) * 0.7, np.zeros(32, np.float32)], -1)
    rows = []
    for kind, setup in [*((kind, "encore") for kind in MODEL_KINDS), *((kind, "paper") for kind in PAPER_KINDS)]:
        model, source = _model(kind, setup)
        calls = {"humanize": lambda m=model: m.humanize(score, seed=0)}
        if "groove" in model.input_names:
            calls["drumify"] = lambda m=model: m.drumify(groove, seed=0)
            calls["locked drumify"] = lambda m=model: m.drumify(groove, seed=0, lock_to_groove=True)
        label = kind if setup == "encore" else f"{kind} ({setup} setup)"
        for task, call in calls.items():
            median = _median_ms(call)
            rows.append({
                "name": f"groove-{label} {task}, 2-bar window, B=1",
                "median": round(median, 2),
                "unit": "ms",
                "ratio": round(median / WINDOW_MS, 5),
                "note": f"ratio to the 4 s window at 120 bpm; CPU, 1 thread, median of {REPEATS}; {source}",
            })
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['median']} {row['unit']} (ratio {row['ratio']}) - {row['note']}")
