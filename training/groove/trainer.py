"""Train one groove VAE on the GMD two-bar windows (`encore train groove --model aux`).

The loop draws shuffled batches from the train split, steps Adam with a cosine learning-rate decay,
validates every `eval_every` steps on the validation split, saves a resumable state to
`runs/groove-<model>/state.pt` (model, optimizer, step, history, random states) every `save_every` steps (by default with
each validation) and a loss plot `losses.png`, and stops at `steps` or after `max_minutes`. At the end it
writes the shipped checkpoint (fp16 safetensors, config JSON, model card with held-out losses) to
`models/checkpoints/groove-<model>/`. The settings are a `GrooveTrainerConfig`, which extends the shared
`TrainerConfig`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from encore.models.errors import EncoreError
from encore.models.groove.checkpoint import save_checkpoint
from encore.models.groove.vae import GrooveVAE
from encore.models.shipped import shipped_folder
from encore.training.groove.config import GrooveTrainerConfig
from encore.training.groove.data import WindowSet, load_windows
from encore.training.groove.window_draw import WindowDraw
from encore.training.loss_curves import Series, save_loss_curves
from encore.training.model_card import groove_card
from encore.training.optimizer_step import clipped_step, set_learning_rate


def tensors(
    windows: WindowSet, index: np.ndarray | slice, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hits, velocities and offsets of some windows as float32 tensors (on `device`, default CPU)."""
    hits, velocities, offsets = (torch.from_numpy(array[index].astype(np.float32)).to(device or "cpu")
                                 for array in (windows.hits, windows.velocities, windows.offsets))
    return hits, velocities, offsets


@torch.no_grad()
def evaluate_loss(model: GrooveVAE, windows: WindowSet, batch_size: int = 512) -> dict[str, float]:
    """Mean loss parts over a window set (teacher forced, latents sampled), in eval mode; NaN when empty."""
    if len(windows) == 0:
        return dict.fromkeys(("loss", "recon", "kl", "aux", "hit_acc"), float("nan"))
    model.eval()
    device = next(model.parameters()).device
    totals: dict[str, float] = {}
    for start in range(0, len(windows), batch_size):
        part = slice(start, start + batch_size)
        _, parts = model.loss(*tensors(windows, part, device))
        count = len(windows.hits[part])
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + value * count
    model.train()
    return {key: value / len(windows) for key, value in totals.items()}


RECON_PANEL = "recon per window (log)"


def loss_panels(history: list[dict[str, float]]) -> dict[str, Series]:
    """The history's loss and reconstruction term per split, as panels for `save_loss_curves`."""
    panels: dict[str, Series] = {}
    for key, label in (("loss", "loss per window"), ("recon", RECON_PANEL)):
        panels[label] = {split: [(int(row["step"]), row[key]) for row in history if row["split"] == split]
                         for split in ("train", "validation")}
    return panels


def train(
    config: GrooveTrainerConfig,
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
        run_dir: folder of the resumable state and plots (default `config.run_dir`, `runs/groove-<model>`).
        cache_dir: window cache folder (default `.cache/groove`).

    Returns:
        The exported checkpoint folder.
    """
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    windows, _ = load_windows(data_root, cache_dir)
    train_set, val_set = windows["train"], windows["validation"]
    draw = WindowDraw(train_set, config.windows)
    if run_dir is not None:
        config = replace(config, run_dir=Path(run_dir))
    run = config.run_dir
    run.mkdir(parents=True, exist_ok=True)
    device = torch.device(config.resolved_device())
    model = GrooveVAE(config.model_config()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    step, wall, history = 0, 0.0, []
    rng = np.random.default_rng(config.seed)
    state_path = run / "state.pt"
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=False)
        saved_run = GrooveTrainerConfig.from_dict(state["config"])
        saved = saved_run.model_config()
        if saved != model.config:
            raise EncoreError(f"{state_path}: saved for {saved.to_dict()}; resume with the same --setup and --model-option")
        if saved_run.windows != config.windows:
            raise EncoreError(f"{state_path}: saved with --windows {saved_run.windows}; resume with the same")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, wall, history = state["step"], state["wall"], state["history"]
        # Draw the batches and latents the uninterrupted run would have drawn (older states: reseed).
        rng = state["rng"] if "rng" in state else np.random.default_rng(config.seed + step)
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"].cpu())
    started = time.monotonic()
    bar = tqdm(total=config.steps, initial=step, desc=f"groove-{config.model}", unit="step")
    recent: list[float] = []
    while step < config.steps and not config.out_of_time(time.monotonic() - started):
        set_learning_rate(optimizer, config.learning_rate_at(step))
        tick = time.monotonic()
        loss, parts = model.loss(*tensors(train_set, draw(rng, config.batch_size), device))
        clipped_step(optimizer, loss, model.parameters(), config.grad_clip)
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
        if step % config.save_every == 0 or step == config.steps:
            elapsed = wall + time.monotonic() - started
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall": elapsed, "history": history, "config": config.to_dict(), "rng": rng, "torch_rng": torch.get_rng_state()}, state_path)
            save_loss_curves(loss_panels(history), run / "losses.png", f"groove-{config.model}", log_scale=(RECON_PANEL,))
    bar.close()
    wall += time.monotonic() - started
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall": wall, "history": history, "config": config.to_dict(), "rng": rng, "torch_rng": torch.get_rng_state()}, state_path)
    save_loss_curves(loss_panels(history), run / "losses.png", f"groove-{config.model}", log_scale=(RECON_PANEL,))
    held_out = {split: evaluate_loss(model, windows[split]) for split in ("validation", "test")}
    training = {
        "steps": step,
        "batch_size": config.batch_size,
        "windows_seen": step * config.batch_size,
        "wall_minutes": wall / 60,
        "parameters": sum(p.numel() for p in model.parameters()),
        "value_weight": model.config.value_weight,
        "offset_weight": model.config.offset_weight,
        "held_out": held_out,
        "train_config": config.to_dict(),
    }
    out = Path(out_dir or shipped_folder("groove", config.model))
    card = groove_card(config, training, {k: len(v) for k, v in windows.items()}, device.type)
    save_checkpoint(model.cpu(), out, training, card)
    save_loss_curves(loss_panels(history), out / "losses.png", f"groove-{config.model}", log_scale=(RECON_PANEL,))
    return out
