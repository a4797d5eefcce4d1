"""Train one groove VAE on the GMD two-bar windows (`encore train groove --model aux`).

The loop draws shuffled batches from the train split, steps Adam with a cosine learning-rate decay,
validates every `eval_every` steps on the validation split, saves a resumable state to
`runs/groove-<model>/state.pt` (model, optimizer, step, history) and a loss plot `losses.png`, and stops at
`steps` or after `max_minutes`. At the end it writes the shipped checkpoint (fp16 safetensors, config JSON,
model card with held-out losses) to `models/checkpoints/groove-<model>/`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from encore.models.groove.checkpoint import save_checkpoint
from encore.models.groove.config import GrooveConfig
from encore.models.groove.vae import GrooveVAE
from encore.models.shipped import shipped_folder
from encore.training.groove.config import TrainConfig
from encore.training.groove.data import REPO_ROOT, WindowSet, load_windows
from encore.training.schedule import warmup_cosine


def tensors(windows: WindowSet, index: np.ndarray | slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hits, velocities and offsets of some windows as float32 tensors."""
    return (
        torch.from_numpy(windows.hits[index].astype(np.float32)),
        torch.from_numpy(windows.velocities[index].astype(np.float32)),
        torch.from_numpy(windows.offsets[index].astype(np.float32)),
    )


@torch.no_grad()
def evaluate_loss(model: GrooveVAE, windows: WindowSet, batch_size: int = 512) -> dict[str, float]:
    """Mean loss parts over a window set (teacher forced, latents sampled), in eval mode; NaN when empty."""
    if len(windows) == 0:
        return dict.fromkeys(("loss", "recon", "kl", "aux", "hit_acc"), float("nan"))
    model.eval()
    totals: dict[str, float] = {}
    for start in range(0, len(windows), batch_size):
        part = slice(start, start + batch_size)
        _, parts = model.loss(*tensors(windows, part))
        count = len(windows.hits[part])
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + value * count
    model.train()
    return {key: value / len(windows) for key, value in totals.items()}


def plot_history(history: list[dict[str, float]], path: Path, title: str) -> None:
    """Save train and validation loss curves as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "-"), ("validation", "o-")):
        rows = [row for row in history if row["split"] == split]
        steps = [row["step"] for row in rows]
        axes[0].plot(steps, [row["loss"] for row in rows], style, label=f"{split} loss", markersize=3)
        axes[1].plot(steps, [row["recon"] for row in rows], style, label=f"{split} recon", markersize=3)
    for axis in axes:
        axis.set_xlabel("step")
        axis.legend()
        axis.grid(alpha=0.3)
    axes[0].set_title(title)
    axes[1].set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def model_card(config: TrainConfig, training: dict, counts: dict[str, int]) -> str:
    """Markdown model card of a shipped checkpoint."""
    held = training["held_out"]
    rows = "\n".join(
        f"| {split} | {held[split]['loss']:.2f} | {held[split]['recon']:.2f} | {held[split]['kl']:.2f} | {held[split]['aux']:.2f} | {held[split]['hit_acc']:.4f} |"
        for split in ("validation", "test")
    )
    return f"""# groove-{config.model}

Groove VAE `{config.model}` of Encore (see `docs/groove.md` and `models/groove_vae.py`), 2-bar 4/4 drum
loops on a 16th-note grid, 9 drum classes.

- Data: Groove MIDI Dataset v1.0.0 (Magenta), 4/4 files, official split, two-bar windows with a one-bar
  hop: {counts['train']} train / {counts['validation']} validation / {counts['test']} test windows.
  GMD is licensed CC BY 4.0 by Jon Gillick, Adam Roberts, Jesse Engel, Douglas Eck and David Bamman,
  "Learning to Groove with Inverse Sequence Transformations", ICML 2019. These weights are derived from it.
- Training: {training['steps']} steps of batch {config.batch_size} ({training['windows_seen']} windows),
  Adam at {config.learning_rate} with cosine decay, {training['wall_minutes']:.1f} minutes on 1 CPU thread.
- Weights: fp16 safetensors, {training['parameters']} parameters.

Held-out losses per window (teacher forced; recon = hit cross-entropy + {training['value_weight']:g} x the
velocity and offset squared errors on hits, summed over the window; kl in nats over all latents; hit_acc over all 288 cells):

| split | loss | recon | kl | aux | hit_acc |
|---|---|---|---|---|---|
{rows}
"""


def train(
    config: TrainConfig,
    data_root: Path | None = None,
    resume: bool = False,
    out_dir: Path | None = None,
    run_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Run (or resume) training and export the checkpoint.

    Args:
        config: run settings.
        data_root: folder holding `groove/` (default: see `encore.training.groove.data.default_data_root`).
        resume: continue from `run_dir/state.pt` when it exists.
        out_dir: checkpoint folder (default `models/checkpoints/groove-<model>`).
        run_dir: folder of the resumable state and plots (default `runs/groove-<model>`).
        cache_dir: window cache folder (default `.cache/groove`).

    Returns:
        The exported checkpoint folder.
    """
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    windows, _ = load_windows(data_root, cache_dir)
    train_set, val_set = windows["train"], windows["validation"]
    run = Path(run_dir or REPO_ROOT / "runs" / f"groove-{config.model}")
    run.mkdir(parents=True, exist_ok=True)
    model = GrooveVAE(GrooveConfig.from_name(config.model))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    step, wall, history = 0, 0.0, []
    state_path = run / "state.pt"
    if resume and state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, wall, history = state["step"], state["wall"], state["history"]
    rng = np.random.default_rng(config.seed + step)
    started = time.monotonic()
    bar = tqdm(total=config.steps, initial=step, desc=f"groove-{config.model}", unit="step")
    recent: list[float] = []
    while step < config.steps and time.monotonic() - started < 60 * config.max_minutes:
        lr = warmup_cosine(config.learning_rate, step, config.steps, min_ratio=config.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tick = time.monotonic()
        loss, parts = model.loss(*tensors(train_set, rng.integers(0, len(train_set), config.batch_size)))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        recent.append(parts["loss"])
        bar.update(1)
        bar.set_postfix(loss=f"{parts['loss']:.1f}", win_s=f"{config.batch_size / (time.monotonic() - tick):.0f}")
        if step % 25 == 0:
            history.append({"split": "train", "step": step, **parts})
        if step % config.eval_every == 0 or step == config.steps:
            held = evaluate_loss(model, val_set)
            history.append({"split": "validation", "step": step, **held})
            bar.write(f"step {step}: train loss {np.mean(recent):.2f}, validation loss {held['loss']:.2f} (recon {held['recon']:.2f}, hit acc {held['hit_acc']:.4f})")
            recent = []
            elapsed = wall + time.monotonic() - started
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall": elapsed, "history": history, "config": asdict(config)}, state_path)
            plot_history(history, run / "losses.png", f"groove-{config.model}")
    bar.close()
    wall += time.monotonic() - started
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall": wall, "history": history, "config": asdict(config)}, state_path)
    plot_history(history, run / "losses.png", f"groove-{config.model}")
    held_out = {split: evaluate_loss(model, windows[split]) for split in ("validation", "test")}
    training = {
        "steps": step,
        "batch_size": config.batch_size,
        "windows_seen": step * config.batch_size,
        "wall_minutes": wall / 60,
        "parameters": sum(p.numel() for p in model.parameters()),
        "value_weight": model.config.value_weight,
        "held_out": held_out,
        "train_config": asdict(config),
    }
    out = Path(out_dir or shipped_folder("groove", config.model))
    save_checkpoint(model, out, training, model_card(config, training, {k: len(v) for k, v in windows.items()}))
    plot_history(history, out / "losses.png", f"groove-{config.model}")
    return out
