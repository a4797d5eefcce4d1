"""One GRPO iteration on the shipped piano checkpoint, split into sampling, rendering, reward and update.

8 procedural prompts x 8 completions of 256 tokens at temperature 1 (the issue's defaults), rendered to
10 s crops at 16 kHz with FluidR3_GM in 2 worker processes, scored by the audio critic (the trained one
from `runs/critic/export` when present, else an untrained critic of the same shape: same cost), then one
clipped-ratio update with the KL to the reference (its forward pass counted in the update). CPU, 2 torch
threads; ratio is to SMART's ~15 s per iteration on one RTX 3090 (200 iterations in 50 minutes). Quick
mode: the tiny model, 2 x 2 completions of 16 tokens, 1 s crops rendered in-process.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.critic import AudioCritic, CriticReward, default_critic_folder, load_critic
from encore.training.grpo.grpo import GrpoTrainer

SMART_SECONDS_PER_ITERATION = 15.0
PHASES = ("sampling", "rendering", "reward", "update")


def run(quick: bool = False) -> list[dict]:
    """Rows: seconds of each phase of one iteration and of the whole, with the ratio to SMART's 15 s."""
    torch.set_num_threads(2)
    if quick:
        bundle = PianoBundle.random("tiny")
        shape = {"batch_size": 2, "group_size": 2, "max_new_tokens": 16, "crop_s": 1.0, "render_workers": 0}
    else:
        bundle = load_piano()
        shape = {"batch_size": 8, "group_size": 8, "max_new_tokens": 256, "crop_s": 10.0, "render_workers": 2}
    folder = default_critic_folder()
    trained = (folder / "model.safetensors").is_file()
    critic = CriticReward(load_critic(folder) if trained else AudioCritic().eval())
    with tempfile.TemporaryDirectory() as run_dir:
        config = GrpoConfig(run_dir=Path(run_dir), prompts="procedural", reward="critic", threads=2, device="cpu",
                            **shape)
        trainer = GrpoTrainer(config, bundle=bundle, reward=critic)
        try:
            row = trainer.step()
        finally:
            trainer.close()
    total = sum(row[f"{phase}_s"] for phase in PHASES)
    label = f"{shape['batch_size']}x{shape['group_size']}, {shape['max_new_tokens']} tokens"
    source = "trained critic" if trained else "untrained critic, same shape"
    note = f"one iteration (n=1), CPU 2 threads, {shape['render_workers']} render workers; {source}"
    rows = [{"name": f"grpo {phase}, {label}", "median": round(row[f"{phase}_s"], 2), "unit": "s",
             "ratio": round(row[f"{phase}_s"] / total, 3), "note": f"share of the iteration; {note}"}
            for phase in PHASES]
    rows.append({"name": f"grpo iteration, {label}", "median": round(total, 2), "unit": "s",
                 "ratio": round(total / SMART_SECONDS_PER_ITERATION, 2),
                 "note": f"ratio to SMART's ~15 s/iteration on an RTX 3090; {row['tokens_per_s']:.0f} tokens/s; {note}"})
    return rows


if __name__ == "__main__":
    import sys

    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']}: {result['median']} {result['unit']} (ratio {result['ratio']}) - {result['note']}")
