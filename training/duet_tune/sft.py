"""`encore train duet`: fine-tune a v2 piano checkpoint as a duet partner on POP909's training split.

The MELODY is the performer's part (marked, context only), PIANO + BRIDGE the model's own; the loss counts
only the model's own tokens (`encore.training.duet_tune.data`). It reports, before and after, the duet
held-out loss (own tokens of the validation songs, the melody as context) and the solo held-out loss (the
same songs with every part the model's own, as a solo file reads: does it keep its solo play?), and exports
an fp16 checkpoint with a card. `encore duet-eval --checkpoint RUN/export --style pop` judges it.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from encore.models.piano.checkpoint import PianoBundle, load_piano, save_piano
from encore.models.piano.phi3 import Phi3
from encore.training.duet_tune.data import DuetCrops, load_songs
from encore.training.paths import default_data_root, runs_dir


@dataclass(kw_only=True)
class DuetSftConfig:
    """One duet fine-tune.

    Attributes:
        checkpoint: The v2 base (a shipped name or a folder).
        data_root: Folder holding pop909/.
        run_dir: Where the log and `export/` go.
        steps, batch_size, crop, learning_rate: The optimizer's run (AdamW, constant rate after warm-up).
        warmup_steps: Linear warm-up.
        eval_every: Steps between held-out losses.
        eval_songs: Validation songs in the held-out losses (their openings, one crop each).
        train_songs: Limit on the training songs read (None: all).
        seed: Seed of the crops.
    """

    checkpoint: str = "v2"
    data_root: Path = default_data_root()
    run_dir: Path = runs_dir("duet-sft")
    steps: int = 300
    batch_size: int = 8
    crop: int = 1024
    learning_rate: float = 1e-4
    warmup_steps: int = 20
    eval_every: int = 50
    eval_songs: int = 32
    train_songs: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        self.data_root, self.run_dir = Path(self.data_root), Path(self.run_dir)
        if min(self.steps, self.batch_size, self.eval_every, self.eval_songs) < 1 or self.crop < 2:
            raise ValueError("steps, batch_size, eval_every and eval_songs must be >= 1 and crop >= 2")


def masked_loss(model: torch.nn.Module, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the targets marked (the model's own tokens)."""
    logits = model(ids[:, :-1]).float()
    losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    weights = targets.reshape(-1).float()
    return (losses * weights).sum() / weights.sum().clamp(min=1.0)


@torch.no_grad()
def held_out(model: Phi3, windows: tuple[torch.Tensor, torch.Tensor], batch_size: int = 8) -> float:
    """Loss per own target token (nats) over fixed windows."""
    was_training = model.training
    model.eval()
    ids, targets = windows
    total = count = 0.0
    for begin in range(0, len(ids), batch_size):
        chunk, mask = ids[begin:begin + batch_size], targets[begin:begin + batch_size]
        real = float(mask.sum())
        total += float(masked_loss(model, chunk, mask)) * real
        count += real
    model.train(was_training)
    return total / max(count, 1.0)


def trainable(bundle: PianoBundle) -> Phi3:
    """The base's weights as a float32 model that trains (no frozen inference copies)."""
    model = Phi3(bundle.model.config)
    model.load_state_dict(bundle.model.state_dict())
    return model.float().train()


def sft_card(config: DuetSftConfig, metrics: dict) -> str:
    """The export's model card."""
    return "\n".join([
        "# Encore piano transformer, duet fine-tune (issue 25)", "",
        f"`{config.checkpoint}` fine-tuned by `encore train duet` (training/duet_tune/sft.py) on POP909's training "
        "split: MELODY marked as the performer's part (`Performer_None`, context only), PIANO + BRIDGE the model's "
        "own; the loss counts only the model's own tokens. Weights: fp16 safetensors; tokenizer: tokenizer.json.", "",
        f"- steps: {metrics['steps']} x batch {config.batch_size} x crop {config.crop}, AdamW at {config.learning_rate} "
        f"(warm-up {config.warmup_steps}), {metrics['train_songs']} training songs",
        f"- wall time: {metrics['wall_minutes']:.1f} min on {metrics['hardware']}", "",
        "| held-out loss (nats/token, own tokens) | base | tuned |", "|---|---|---|",
        f"| duet: {metrics['eval_songs']} validation songs, the melody as context | {metrics['duet_loss_base']:.4f} "
        f"| {metrics['duet_loss_tuned']:.4f} |",
        f"| solo: the same songs, every part the model's own | {metrics['solo_loss_base']:.4f} "
        f"| {metrics['solo_loss_tuned']:.4f} |", "",
        "```json", json.dumps(metrics, indent=2), "```", ""])


def run_duet_sft(config: DuetSftConfig, bundle: PianoBundle | None = None, progress: bool = True) -> dict:
    """Fine-tune, export to `run_dir/export` and return the metrics (also in `run_dir/metrics.json`)."""
    bundle = bundle or load_piano(config.checkpoint)
    vocab = bundle.tokenizer.vocab
    train = load_songs(config.data_root, "train", bundle.tokenizer, config.train_songs)
    held_duet = load_songs(config.data_root, "validation", bundle.tokenizer, config.eval_songs)
    held_solo = load_songs(config.data_root, "validation", bundle.tokenizer, config.eval_songs, solo=True)
    pad, bar = vocab["PAD_None"], vocab["Bar_None"]
    crops = DuetCrops(train, config.crop, pad, bar, config.seed)
    duet_windows = DuetCrops(held_duet, config.crop, pad, bar, 0).windows(config.eval_songs)
    solo_windows = DuetCrops(held_solo, config.crop, pad, bar, 0).windows(config.eval_songs)
    model = trainable(bundle)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    metrics: dict = {"checkpoint": config.checkpoint, "train_songs": len(train), "eval_songs": len(held_duet),
                     "duet_loss_base": held_out(model, duet_windows), "solo_loss_base": held_out(model, solo_windows)}
    config.run_dir.mkdir(parents=True, exist_ok=True)
    log = []
    started = time.perf_counter()
    steps = range(config.steps)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="duet sft", unit="step")
    for step in steps:
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * min(1.0, (step + 1) / max(1, config.warmup_steps))
        ids, targets = crops.batch(config.batch_size)
        loss = masked_loss(model, ids, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        row = {"step": step + 1, "loss": loss.item()}
        if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:
            row |= {"duet_loss": held_out(model, duet_windows), "solo_loss": held_out(model, solo_windows)}
        log.append(row)
    metrics |= {"steps": config.steps, "duet_loss_tuned": log[-1]["duet_loss"], "solo_loss_tuned": log[-1]["solo_loss"],
                "wall_minutes": (time.perf_counter() - started) / 60.0,
                "hardware": f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
                "config": {k: str(v) for k, v in asdict(config).items()}}
    (config.run_dir / "log.jsonl").write_text("".join(json.dumps(row) + "\n" for row in log))
    (config.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    save_piano(config.run_dir / "export", model.eval(), bundle.tokenizer, sft_card(config, metrics))
    return metrics
