"""Pretraining the piano transformer: AdamW, warm-up and cosine decay, clipping, periodic validation,
checkpoint and resume, DDP through torchrun, loss curves, fp16 export with a model card.

The settings are a `PianoTrainerConfig` (`encore.training.piano.config`), which extends the shared
`TrainerConfig`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from encore.models.errors import CheckpointError
from encore.models.piano.checkpoint import save_piano
from encore.models.piano.phi3 import Phi3, Phi3Config
from encore.models.piano.tokenizer import load_tokenizer
from encore.training.loss_curves import save_loss_curves
from encore.training.optimizer_step import clipped_step, set_learning_rate
from encore.training.piano.augment import Augmenter
from encore.training.piano.config import PianoTrainerConfig
from encore.training.piano.prep import load_split, load_styles
from encore.training.piano.shards import has_state_shards, load_state_shards, save_state_shards
from encore.training.piano.token_batches import CropSampler, evaluation_windows, unigram_loss


def language_model_loss(model: torch.nn.Module, batch: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean next-token cross-entropy, ignoring PAD targets."""
    logits = model(batch[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), batch[:, 1:].reshape(-1), ignore_index=pad_id)


@torch.no_grad()
def held_out_loss(model: Phi3, windows: torch.Tensor, pad_id: int, device: torch.device, batch_size: int = 16) -> float:
    """Loss per token (nats) over fixed windows, weighted by the number of real target tokens."""
    model.eval()
    total, count = 0.0, 0
    for chunk in windows.split(batch_size):
        chunk = chunk.to(device)
        real = int((chunk[:, 1:] != pad_id).sum())
        total += float(language_model_loss(model, chunk, pad_id)) * real
        count += real
    model.train()
    return total / max(1, count)


class Trainer:
    """One pretraining run (one process of a DDP group, or alone)."""

    def __init__(self, config: PianoTrainerConfig) -> None:
        self.config = config
        self.rank, self.world = self._init_distributed()
        if config.threads:
            torch.set_num_threads(config.threads)
        device = config.device if config.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device if device != "cuda" else f"cuda:{self.rank % max(1, torch.cuda.device_count())}")
        self.tokenizer = load_tokenizer(config.cache_dir)
        self.pad_id = self.tokenizer.vocab["PAD_None"]
        torch.manual_seed(config.seed)
        self.model = Phi3(Phi3Config.from_name(config.preset, vocab_size=len(self.tokenizer),
                                               context_length=config.context_length)).to(self.device)
        self.ddp = torch.nn.parallel.DistributedDataParallel(self.model) if self.world > 1 else self.model
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=config.learning_rate, betas=(0.9, 0.95), fused=self.device.type == "cuda",
        )
        tokens, offsets = load_split(config.cache_dir, "train")
        augmenter = Augmenter(self.tokenizer.vocab) if config.augment else None
        self.sampler = CropSampler(tokens, offsets, config.crop, self.pad_id, seed=config.seed * 1000 + self.rank,
                                   augmenter=augmenter, styles=load_styles(config.cache_dir, "train"))
        self.step = 0
        self.history: dict[str, list] = {"train": [], "validation": []}
        self.wall_seconds = 0.0
        self._resume()

    @staticmethod
    def _init_distributed() -> tuple[int, int]:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return (dist.get_rank(), world) if world > 1 else (0, 1)

    @property
    def state_path(self) -> Path:
        """Full training state (fp32 weights, optimizer, history) for resuming."""
        return self.config.run_dir / "train_state.pt"

    def _resume(self) -> None:
        if self.state_path.is_file():
            state = torch.load(self.state_path, map_location=self.device, weights_only=False)
        elif has_state_shards(self.config.state_shards):
            state = load_state_shards(self.config.state_shards, self.device)
        else:
            if self.config.init_from is not None:
                self._warm_start(self.config.init_from)
            return
        saved = PianoTrainerConfig.from_dict(state["config"])  # older runs: old names, values as strings
        for name in ("preset", "context_length"):
            if getattr(saved, name) != getattr(self.config, name):
                raise CheckpointError(f"{self.config.run_dir} was trained with {name} {getattr(saved, name)!r}, "
                                      f"not {getattr(self.config, name)!r}: resume with it or use another run folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.history, self.wall_seconds = state["step"], state["history"], state["wall_seconds"]
        self.sampler.rng = state["rng"][self.rank] if self.rank < len(state["rng"]) else self.sampler.rng

    def _warm_start(self, folder: Path) -> None:
        """Start from a checkpoint's weights (fp16 export) with a fresh optimizer."""
        from safetensors.torch import load_file

        weights = load_file(str(Path(folder) / "model.safetensors"), device=str(self.device))
        own = self.model.state_dict()
        if {name: tuple(value.shape) for name, value in weights.items()} != {name: tuple(own[name].shape) for name in weights}:
            raise CheckpointError(f"{folder}: its weights do not fit preset {self.config.preset!r} and this vocabulary")
        self.model.load_state_dict({name: value.float() for name, value in weights.items()}, strict=True)

    def _save_state(self) -> None:
        rngs = [None] * self.world
        if self.world > 1:
            dist.all_gather_object(rngs, self.sampler.rng)
        else:
            rngs = [self.sampler.rng]
        if self.rank != 0:
            return
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                 "history": self.history, "wall_seconds": self.wall_seconds, "rng": rngs,
                 "config": self.config.to_dict()}
        torch.save(state, self.state_path.with_suffix(".tmp"))
        os.replace(self.state_path.with_suffix(".tmp"), self.state_path)
        if self.config.state_shards is not None:
            save_state_shards(state, self.config.state_shards)
        save_loss_curves({"loss per token (nats)": self.history}, self.config.run_dir / "loss_curves.png",
                         "piano transformer")

    def train(self) -> dict:
        """Run until `steps` (or `max_minutes` of this call); return the final metrics (rank 0)."""
        config = self.config
        windows = evaluation_windows(*load_split(config.cache_dir, "validation"), config.crop, self.pad_id,
                                     config.eval_windows)
        progress = None
        if self.rank == 0:
            from tqdm import tqdm

            progress = tqdm(total=config.steps, initial=self.step, desc="train piano", unit="step")
        invoked = time.perf_counter()
        started = invoked - self.wall_seconds
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=config.mixed_precision)
        self.model.train()
        while self.step < config.steps:
            tick = time.perf_counter()
            set_learning_rate(self.optimizer, config.learning_rate_at(self.step))
            batch = self.sampler.batch(config.batch_size).to(self.device)
            with autocast:
                loss = language_model_loss(self.ddp, batch, self.pad_id)
            clipped_step(self.optimizer, loss, self.model.parameters(), config.grad_clip)
            self.step += 1
            self.wall_seconds = time.perf_counter() - started
            tokens_per_second = config.batch_size * config.crop * self.world / (time.perf_counter() - tick)
            self.history["train"].append((self.step, loss.item()))
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{tokens_per_second:,.0f}")
            out_of_time = config.out_of_time(time.perf_counter() - invoked) or self.step == config.stop_at
            if self.world > 1:
                flag = torch.tensor([float(out_of_time)])
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                out_of_time = bool(flag.item())
            last = self.step == config.steps or out_of_time
            if self.rank == 0 and (self.step % config.eval_every == 0 or last):
                value = held_out_loss(self.model, windows, self.pad_id, self.device)
                self.history["validation"].append((self.step, value))
                if progress is not None:
                    progress.write(f"step {self.step}: validation loss {value:.4f}")
            if self.step % config.save_every == 0 or last:
                self._save_state()
            if out_of_time:
                break
        if progress is not None:
            progress.close()
        return self.finish() if self.rank == 0 else {}

    def finish(self) -> dict:
        """Held-out losses, unigram baseline; export fp16 weights with a model card."""
        config = self.config
        test_tokens, test_offsets = load_split(config.cache_dir, "test")
        val_tokens, val_offsets = load_split(config.cache_dir, "validation")
        metrics = {
            "steps": self.step,
            "wall_minutes": round(self.wall_seconds / 60, 1),
            "validation_loss": held_out_loss(self.model, evaluation_windows(val_tokens, val_offsets, config.crop, self.pad_id, config.final_eval_windows), self.pad_id, self.device),
            "test_loss": held_out_loss(self.model, evaluation_windows(test_tokens, test_offsets, config.crop, self.pad_id, config.final_eval_windows), self.pad_id, self.device),
            "unigram_test_loss": unigram_loss(self.sampler.tokens, test_tokens, len(self.tokenizer), self.pad_id),
            "train_tokens_seen": self.step * config.batch_size * config.crop * self.world,
        }
        (config.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        manifest = json.loads((config.cache_dir / "manifest.json").read_text())
        from encore.training.model_card import piano_card

        card = piano_card(config, metrics, manifest, hardware=str(self.device))
        save_piano(config.run_dir / "export", self.model.eval(), self.tokenizer, card)
        return metrics
