"""`encore train duet-grpo`: GRPO of the duet on rewards that can be checked.

Each iteration draws song windows of POP909's training split; each is played `group_size` times through the
duet code path (`encore.training.duet_tune.rollout`) by a frozen copy of the policy; the rewards
(`encore.training.duet_tune.rewards`) are normalised per group; one update of the GRPO core's loss
(`encore.training.grpo.loss`: clipped ratio, k3 KL to the base) is taken over the model's own tokens of the
final contexts (the performer's tokens are context). The old log-probabilities are the policy's on those
final contexts before the update: a token sampled before a performer note was laid in ahead of it was
sampled in another context, so the ratio starts at 1 rather than at the sampling's.

It stops early when the held-out loss of real accompaniments rises past `max_loss_rise` or the density
reward falls under `min_density`, and exports an fp16 checkpoint with a card.
"""

from __future__ import annotations

import copy
import json
import platform
import random
import time

import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano, save_piano
from encore.models.piano.grammar import BatchGrammar, GrammarConfig, GrammarTables
from encore.models.piano.phi3 import Phi3
from encore.models.piano.streaming_decoder import TokenTable
from encore.training.duet_eval.songs import (
    SongSkipped,
    pop909_folder,
    read_index,
    read_song,
    song_window,
    split_songs,
)
from encore.training.duet_tune.data import DuetCrops, load_songs
from encore.training.duet_tune.grpo_config import DuetGrpoConfig
from encore.training.duet_tune.rewards import real_range, reward_parts, total_reward
from encore.training.duet_tune.rollout import DuetRollout, play_duet
from encore.training.duet_tune.sft import held_out, trainable
from encore.training.grpo.loss import group_advantages, grpo_loss
from encore.training.grpo.rollout import masked_logprobs


def training_windows(config: DuetGrpoConfig) -> list:
    """The training split's song windows that qualify (`encore duet-eval`'s rules), up to `train_songs`."""
    folder = pop909_folder(config.data_root)
    index = read_index(folder)
    windows = []
    for song_id in split_songs(folder, "train"):
        if config.train_songs is not None and len(windows) >= config.train_songs:
            break
        try:
            window = song_window(read_song(folder, song_id, index[song_id]), config.bars, config.seed_bars)
        except SongSkipped:
            continue
        if window.accompaniment:
            windows.append(window)
    if not windows:
        raise ValueError(f"no training song of {folder} qualifies for {config.bars} bars after {config.seed_bars}")
    return windows


def batch_tensors(rollouts: list[DuetRollout], pad_id: int, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T) token ids padded with PAD and (N, T - 1) masks of the own targets; each context cropped to its
    last `context` tokens."""
    rows = [(r.tokens[-context:], r.own[-context:]) for r in rollouts]
    length = max(len(tokens) for tokens, _ in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    own = torch.zeros(len(rows), length - 1, dtype=torch.bool)
    for row, (tokens, mine) in enumerate(rows):
        ids[row, :len(tokens)] = torch.tensor(tokens)
        own[row, :len(tokens) - 1] = torch.tensor(mine[1:])
    return ids, own


def grammar_states(tables: GrammarTables, ids: torch.Tensor) -> torch.Tensor:
    """(N, T - 1) the grammar state before each target (read with the performer's notes allowed)."""
    grammar = BatchGrammar(tables, ids.shape[0])
    states = torch.empty(ids.shape[0], ids.shape[1] - 1, dtype=torch.long)
    for column in range(ids.shape[1] - 1):
        grammar.advance(ids[:, column])
        states[:, column] = grammar.states
    return states


def token_logprobs(model: torch.nn.Module, ids: torch.Tensor, masks: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, T - 1) log-probability of each target under `model` with the sampling's grammar masks."""
    logits = model(ids[:, :-1])
    return masked_logprobs(logits, masks, temperature).gather(-1, ids[:, 1:, None])[..., 0]


def frozen(model: Phi3) -> Phi3:
    """A grad-free copy for rollouts and the reference."""
    return copy.deepcopy(model).eval().requires_grad_(False).freeze_for_inference()


class DuetGrpo:
    """The loop's state: the policy, its reference, the optimizer, the windows and the log."""

    def __init__(self, config: DuetGrpoConfig, bundle: PianoBundle | None = None) -> None:
        self.config = config
        bundle = bundle or load_piano(config.checkpoint)
        self.tokenizer = bundle.tokenizer
        self.policy = trainable(bundle)
        self.reference = frozen(self.policy)
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=config.learning_rate, weight_decay=0.0)
        table = TokenTable.from_tokenizer(bundle.tokenizer)
        self.reading = GrammarTables(table, GrammarConfig(allow_performer=True))
        self.masks = GrammarTables(table).masks
        self.windows = training_windows(config)
        vocab = bundle.tokenizer.vocab
        self.pad = vocab["PAD_None"]
        held = load_songs(config.data_root, "validation", bundle.tokenizer, config.eval_songs)
        crop = min(1024, self.policy.config.context_length)
        self.held_windows = DuetCrops(held, crop, self.pad, vocab["Bar_None"], 0).windows(config.eval_songs)
        self.random = random.Random(config.seed)
        self.history: list[dict] = []

    def rollouts(self, windows: list) -> tuple[list[DuetRollout], list[float], list[dict[str, float]]]:
        """`group_size` duets of each window by the current policy, and their rewards and parts."""
        config = self.config
        player = PianoBundle(frozen(self.policy), self.tokenizer)
        played, totals, parts = [], [], []
        for window in windows:
            real = real_range(window.accompaniment, window.window_beats, window.bpm, config.reward.density_band,
                              config.reward.register_margin)
            melody = [n for n in window.melody if n.onset_beats >= 0]
            for _ in range(config.group_size):
                rollout = play_duet(player, window, self.random.randrange(2**31), config.temperature,
                                    config.lookahead_beats, config.commit_beats)
                scored = reward_parts(rollout.notes, melody, real, window.window_beats, window.bpm, config.reward)
                played.append(rollout)
                parts.append(scored)
                totals.append(total_reward(scored, config.reward))
        return played, totals, parts

    def step(self) -> dict:
        """One iteration: rollouts, rewards, one update; its log row."""
        config = self.config
        started = time.perf_counter()
        windows = self.random.sample(self.windows, min(config.songs_per_iteration, len(self.windows)))
        played, totals, parts = self.rollouts(windows)
        rollout_s = time.perf_counter() - started
        ids, own = batch_tensors(played, self.pad, self.policy.config.context_length)
        masks = self.masks[grammar_states(self.reading, ids)]
        with torch.no_grad():
            old = token_logprobs(self.policy, ids, masks, config.temperature)
            reference = token_logprobs(self.reference, ids, masks, config.temperature)
        advantages = group_advantages(torch.tensor(totals), config.group_size)
        logprobs = token_logprobs(self.policy, ids, masks, config.temperature)
        zero = torch.zeros_like(old)  # context tokens: ratio 1, KL 0, no gradient
        loss = grpo_loss(torch.where(own, logprobs, zero), torch.where(own, old, zero),
                         torch.where(own, reference, zero), advantages, config.clip_epsilon, config.beta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), 1.0)
        self.optimizer.step()
        means = {f"reward_{name}": sum(p[name] for p in parts) / len(parts) for name in parts[0]}
        return {"iteration": len(self.history) + 1, "reward_mean": sum(totals) / len(totals), **means,
                "loss": loss.loss.item(), "kl": loss.kl, "clip_fraction": loss.clip_fraction,
                "tokens_sampled": sum(r.sampled for r in played), "rollout_s": rollout_s,
                "update_s": time.perf_counter() - started - rollout_s, "songs": [w.song_id for w in windows]}

    def train(self) -> dict:
        """Run the iterations (or stop early), export, and return the metrics."""
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        base = held_out(self.policy, self.held_windows)
        started, stopped = time.perf_counter(), None
        for iteration in range(1, config.iterations + 1):
            row = self.step()
            if iteration % config.eval_every == 0 or iteration == config.iterations:
                row["held_out"] = held_out(self.policy, self.held_windows)
                if row["held_out"] > base * (1 + config.max_loss_rise):
                    stopped = f"held-out loss {row['held_out']:.4f} rose past {base:.4f} x (1 + {config.max_loss_rise})"
            if row["reward_density"] < config.min_density:
                stopped = f"density reward {row['reward_density']:.3f} under {config.min_density}"
            self.history.append(row)
            with (config.run_dir / "log.jsonl").open("a") as log:
                log.write(json.dumps(row) + "\n")
            if stopped:
                break
        tuned = self.history[-1].get("held_out")
        metrics = {"iterations": len(self.history), "stopped_early": stopped,
                   "reward_first": self.history[0]["reward_mean"], "reward_last": self.history[-1]["reward_mean"],
                   "kl_last": self.history[-1]["kl"], "held_out_base": base,
                   "held_out_tuned": tuned if tuned is not None else held_out(self.policy, self.held_windows),
                   "wall_minutes": (time.perf_counter() - started) / 60.0,
                   "hardware": f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
                   "weights": config.reward.weights()}
        from encore.training.duet_tune.card import grpo_duet_card

        save_piano(config.run_dir / "export", self.policy.eval(), self.tokenizer, grpo_duet_card(config, metrics))
        return metrics


def run_duet_grpo(config: DuetGrpoConfig, bundle: PianoBundle | None = None) -> dict:
    """Build the loop and train (`DuetGrpo`)."""
    return DuetGrpo(config, bundle).train()
