"""GRPO on the piano transformer: sample P prompts x G completions with the KV-cached, grammar-masked
sampler, render and score them, normalise rewards per group, and take `inner_updates` clipped-ratio
steps with a per-token KL to the frozen base. Progress bar, a JSONL log and a PNG reward curve per
iteration, resumable state (`train_state.pt`), DDP through torchrun (each process its own prompts),
fp16 export with a model card.
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from encore.models.errors import CheckpointError
from encore.models.piano.checkpoint import PianoBundle, load_piano, save_piano
from encore.models.piano.grammar import GrammarTables
from encore.models.piano.phi3 import Phi3
from encore.models.piano.streaming_decoder import TokenTable
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.loss import group_advantages, grpo_loss
from encore.training.grpo.prompts import PromptBatch, PromptMaker
from encore.training.grpo.render import RenderConfig, Rendered, Renderer
from encore.training.grpo.rewards import Reward, RewardBatch, build_reward
from encore.training.grpo.rollout import Rollouts, completion_logprobs, sample_rollouts
from encore.training.grpo.timing import beat_onsets, decode
from encore.training.loss_curves import save_loss_curves
from encore.training.optimizer_step import set_learning_rate

RESUME_MUST_MATCH = ("checkpoint", "group_size", "max_new_tokens", "prompts", "prompt_tokens")


def trainable_copy(model: Phi3) -> Phi3:
    """A float32 copy of `model` that trains: no frozen inference weights, gradients on."""
    policy = copy.deepcopy(model).float()
    for module in policy.modules():
        if hasattr(module, "weight_t"):
            del module.weight_t
    return policy.requires_grad_(True).train()


def frozen_copy(model: Phi3) -> Phi3:
    """A grad-free copy for the reference."""
    reference = copy.deepcopy(model).float().eval().requires_grad_(False)
    return reference.freeze_for_inference()


def init_distributed() -> tuple[int, int]:
    """(rank, world size); starts the process group under torchrun (gloo on CPU, NCCL on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


class GrpoTrainer:
    """One GRPO run (one process of a DDP group, or alone).

    Args:
        config: the run's settings.
        bundle: the base model and tokenizer (default: `load_piano(config.checkpoint)`); a copy trains,
            another is the frozen reference.
        reward: the reward (default: `build_reward(config.reward, ...)`).
    """

    def __init__(self, config: GrpoConfig, bundle: PianoBundle | None = None, reward: Reward | None = None) -> None:
        self.config = config
        self.rank, self.world = init_distributed()
        if config.threads:
            torch.set_num_threads(config.threads)
        device = config.device if config.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device if device != "cuda" else f"cuda:{self.rank % max(1, torch.cuda.device_count())}")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)  # NCCL's object collectives use the current device
        bundle = bundle or load_piano(config.checkpoint, device="cpu")
        self.tokenizer = bundle.tokenizer
        self.reference = frozen_copy(bundle.model).to(self.device).freeze_for_inference()
        self.policy = trainable_copy(bundle.model).to(self.device)
        self.ddp = (torch.nn.parallel.DistributedDataParallel(self.policy, broadcast_buffers=False)
                    if self.world > 1 else self.policy)
        self.table = TokenTable.from_tokenizer(self.tokenizer)
        self.tables = GrammarTables(self.table)
        self.masks = self.tables.masks.to(self.device)
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=config.learning_rate, betas=(0.9, 0.99),
                                           weight_decay=0.0)
        self.reward = reward or build_reward(config.reward, critic=config.critic,
                                             audiobox_checkpoint=config.audiobox_checkpoint, density_range=config.density_range,
                                             preference=config.preference,
                                             device=self.device)
        self.render_config = RenderConfig(soundfont=config.soundfont, sample_rate=config.sample_rate,
                                          crop_s=config.crop_s, workers=config.render_workers)
        self.renderer: Renderer | None = None
        seed = config.seed * 1000 + self.rank
        self.prompts = PromptMaker(self.tokenizer, seed, config.tempo_range,
                                   config.cache_dir if config.prompts != "procedural" else None, config.prompt_tokens)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.iteration = 0
        self.history: list[dict] = []
        self.wall_seconds = 0.0
        self._resume()

    @property
    def state_path(self) -> Path:
        """Resumable state: policy, optimizer, generators, history."""
        return self.config.run_dir / "train_state.pt"

    @property
    def log_path(self) -> Path:
        """One JSON line per iteration."""
        return self.config.run_dir / "log.jsonl"

    def _resume(self) -> None:
        if not self.state_path.is_file():
            return
        state = torch.load(self.state_path, map_location=self.device, weights_only=False)
        saved = GrpoConfig.from_dict(state["config"])
        for name in RESUME_MUST_MATCH:
            if getattr(saved, name) != getattr(self.config, name):
                raise CheckpointError(f"{self.config.run_dir} was run with {name} {getattr(saved, name)!r}, "
                                      f"not {getattr(self.config, name)!r}: resume with it or use another run folder")
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration, self.history, self.wall_seconds = state["iteration"], state["history"], state["wall_seconds"]
        if self.rank < len(state["rng"]):
            generator_state, prompt_state = state["rng"][self.rank]
            self.generator.set_state(generator_state.cpu())  # map_location moved it; set_state wants a CPU tensor
            self.prompts.rng.bit_generator.state = prompt_state
        if self.rank == 0:  # the log holds what the state holds: iterations after the last save are redone
            self._rewrite_log()

    def _rewrite_log(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("".join(json.dumps(row) + "\n" for row in self.history))

    def _save_state(self) -> None:
        mine = (self.generator.get_state(), self.prompts.rng.bit_generator.state)
        rngs = [None] * self.world
        if self.world > 1:
            dist.all_gather_object(rngs, mine)
        else:
            rngs = [mine]
        if self.rank != 0:
            return
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        state = {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "iteration": self.iteration, "history": self.history, "wall_seconds": self.wall_seconds,
                 "rng": rngs, "config": self.config.to_dict()}
        torch.save(state, self.state_path.with_suffix(".tmp"))
        os.replace(self.state_path.with_suffix(".tmp"), self.state_path)
        self.save_curve()

    def save_curve(self) -> Path:
        """The reward and KL curves as PNG (`reward_curve.png`)."""
        rows = self.history
        panels = {
            "reward": {"mean": [(r["iteration"], r["reward_mean"]) for r in rows],
                       "std": [(r["iteration"], r["reward_std"]) for r in rows]},
            "KL to the base (k3, per token)": {"kl": [(r["iteration"], r["kl"]) for r in rows]},
        }
        return save_loss_curves(panels, self.config.run_dir / "reward_curve.png", f"GRPO, reward {self.reward.name}")

    def _render(self, notes: list) -> Rendered:
        if self.renderer is None:
            self.renderer = Renderer(self.render_config)
        return self.renderer.render(notes)

    def step(self) -> dict:
        """One iteration; returns its log row (reward statistics averaged over processes)."""
        config = self.config
        started = time.perf_counter()
        learning_rate = config.learning_rate_at(self.iteration)
        set_learning_rate(self.optimizer, learning_rate)
        drawn = self.prompts.batch(config.batch_size, config.prompts, config.split_fraction, config.max_new_tokens)
        self.policy.eval()
        group = config.group_size
        rollouts = sample_rollouts(self.policy, self.tables, drawn.tokens.repeat_interleave(group, dim=0),
                                   config.max_new_tokens, config.temperature, self.generator)
        sampled = time.perf_counter()
        # decoded after the prompt's tokens, so completions keep its bar and tempo
        histories = drawn.tokens.repeat_interleave(group, dim=0).tolist()
        start = len(histories[0])
        decoded = [decode(self.table, history + completion, start)
                   for history, completion in zip(histories, rollouts.completions.tolist(), strict=True)]
        notes = [piece.timed_notes() for piece in decoded]
        audio = self._render(notes) if self.reward.needs_audio else None
        rendered = time.perf_counter()
        references = self._references(drawn)
        onsets = [piece.beat_onsets() for piece in decoded] if references is not None else None
        rewards = self.reward.score(RewardBatch(notes, audio, config.crop_s, onsets, references)).float()
        scored = time.perf_counter()
        advantages = group_advantages(rewards, config.group_size).to(self.device)
        reference = self._reference_logprobs(rollouts)
        self.policy.train()
        parts = [self._update(rollouts, advantages, reference) for _ in range(config.inner_updates)][0]
        updated = time.perf_counter()
        count = rollouts.completions.numel()
        summary = torch.tensor([rewards.mean().item(), rewards.std().item(), parts["kl"], parts["clip_fraction"]],
                               device=self.device)  # NCCL reduces CUDA tensors only
        if self.world > 1:
            dist.all_reduce(summary)
            summary /= self.world
        return {
            "iteration": self.iteration + 1, "reward_mean": summary[0].item(), "reward_std": summary[1].item(),
            "kl": summary[2].item(), "clip_fraction": summary[3].item(), "loss": parts["loss"], "lr": learning_rate,
            "prompts": drawn.source, "notes_per_completion": float(np.mean([len(n) for n in notes])),
            "silent_fraction": float(audio.silent.mean()) if audio is not None else 0.0,
            "tokens_per_s": count * self.world / (updated - started),
            "sampling_s": sampled - started, "rendering_s": rendered - sampled, "reward_s": scored - rendered,
            "update_s": updated - scored,
        }

    def _references(self, drawn: PromptBatch) -> list[list[float] | None] | None:
        """Per completion, the onsets in beats of the notes that really followed its prompt over as many tokens
        as it has (split prompts; None for procedural ones, and for a prompt whose file ends sooner)."""
        if drawn.continuations is None:
            return None
        span = self.config.max_new_tokens
        per_prompt = [beat_onsets(self.table, prompt + continuation, len(prompt))
                      if len(continuation) == span else None
                      for prompt, continuation in zip(drawn.tokens.tolist(), drawn.continuations, strict=True)]
        return [notes for notes in per_prompt for _ in range(self.config.group_size)]

    @torch.no_grad()
    def _reference_logprobs(self, rollouts: Rollouts) -> torch.Tensor:
        size = self.config.micro_batch
        return torch.cat([completion_logprobs(self.reference, self.masks, rollouts.select(slice(i, i + size)),
                                              self.config.temperature)
                          for i in range(0, len(rollouts.prompts), size)])

    def _update(self, rollouts: Rollouts, advantages: torch.Tensor, reference: torch.Tensor) -> dict:
        """One optimizer step over all samples (micro-batches accumulate); the first pass's statistics."""
        config = self.config
        total = len(rollouts.prompts)
        self.optimizer.zero_grad(set_to_none=True)
        kl = clip = loss_sum = 0.0
        for begin in range(0, total, config.micro_batch):
            rows = slice(begin, begin + config.micro_batch)
            chunk = rollouts.select(rows)
            logprobs = completion_logprobs(self.ddp, self.masks, chunk, config.temperature)
            parts = grpo_loss(logprobs, chunk.logprobs, reference[rows], advantages[rows], config.clip_epsilon,
                              config.beta)
            share = len(chunk.prompts) / total
            (parts.loss * share).backward()
            kl += parts.kl * share
            clip += parts.clip_fraction * share
            loss_sum += parts.loss.item() * share
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), config.grad_clip)
        self.optimizer.step()
        return {"kl": kl, "clip_fraction": clip, "loss": loss_sum}

    def train(self, until: int | None = None) -> dict:
        """Run until `steps` iterations (or `max_minutes` of this call, or iteration `until`, as an interruption
        would); save, export and return metrics (rank 0)."""
        config = self.config
        stop = min(config.steps, until or config.steps)
        progress = None
        if self.rank == 0:
            from tqdm import tqdm

            progress = tqdm(total=config.steps, initial=self.iteration, desc="grpo", unit="it")
            self._rewrite_log()
        invoked = time.perf_counter()
        started = invoked - self.wall_seconds
        try:
            while self.iteration < stop:
                row = self.step()
                self.iteration += 1
                self.wall_seconds = time.perf_counter() - started
                self.history.append(row)
                if progress is not None:
                    with self.log_path.open("a") as log:
                        log.write(json.dumps(row) + "\n")
                    progress.update(1)
                    progress.set_postfix(reward=f"{row['reward_mean']:.3f}", kl=f"{row['kl']:.4f}",
                                         tok_s=f"{row['tokens_per_s']:,.0f}")
                out_of_time = config.out_of_time(time.perf_counter() - invoked)
                if self.world > 1:
                    flag = torch.tensor([float(out_of_time)], device=self.device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    out_of_time = bool(flag.item())
                if self.iteration % config.save_every == 0 or self.iteration == stop or out_of_time:
                    self._save_state()
                if out_of_time:
                    break
        finally:
            if progress is not None:
                progress.close()
            self.close()
        return self.finish() if self.rank == 0 else {}

    def close(self) -> None:
        """Stop the render workers."""
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    def finish(self) -> dict:
        """Export the tuned weights (fp16) with a model card; write and return the metrics."""
        from encore.training.grpo.card import grpo_card

        config = self.config
        metrics = {"iterations": self.iteration, "wall_minutes": round(self.wall_seconds / 60, 1),
                   "reward": self.reward.name}
        if self.history:
            window = max(1, min(10, len(self.history) // 2))
            metrics["reward_first"] = float(np.mean([r["reward_mean"] for r in self.history[:window]]))
            metrics["reward_last"] = float(np.mean([r["reward_mean"] for r in self.history[-window:]]))
            metrics["kl_last"] = self.history[-1]["kl"]
        if config.cache_dir is not None and (config.cache_dir / "validation_tokens.npy").is_file():
            metrics.update(self._held_out_losses())
        config.run_dir.mkdir(parents=True, exist_ok=True)
        (config.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        save_piano(config.run_dir / "export", self.policy.eval(), self.tokenizer,
                   grpo_card(config, metrics, hardware=str(self.device)))
        return metrics

    def _held_out_losses(self) -> dict:
        from encore.training.piano.prep import load_split
        from encore.training.piano.token_batches import evaluation_windows
        from encore.training.piano.trainer import held_out_loss

        pad = self.tokenizer.vocab["PAD_None"]
        crop = min(512, self.policy.config.context_length)
        losses = {}
        for split in ("validation", "test"):
            if not (self.config.cache_dir / f"{split}_tokens.npy").is_file():
                continue
            windows = evaluation_windows(*load_split(self.config.cache_dir, split), crop, pad, self.config.eval_windows)
            losses[f"{split}_loss_base"] = held_out_loss(self.reference, windows, pad, self.device)
            losses[f"{split}_loss_tuned"] = held_out_loss(self.policy, windows, pad, self.device)
        return losses
