"""`encore train preference`: fit the Bradley-Terry scorer (`preference.py`) to the arena's exported votes,
report its held-out pairwise accuracy, export it with a card and a loss-curve PNG.

Each step draws `batch_size` training votes (with replacement), scores one random crop of each chunk in
them and takes the logistic loss of f(crop of A) - f(crop of B) against the vote's target (1 for A, 0 for
B, 0.5 for a draw): GRPO's reward is one crop's score, so training on crops fits that function, with the
chunk's vote as a noisy label for each of its crops, at a third of the cost of scoring a 30-s chunk's
three crops every step. Evaluation scores a chunk by the mean over all its crops. Held-out accuracy counts the held-out votes for A or B whose winner
scores higher; draws count only in the held-out loss. The split is by vote, so a held-out vote's chunks
may have been compared in training (its outcome then follows partly by transitivity); the accuracy over
held-out votes with a chunk that no training vote holds (`held_out_new_chunk_accuracy`) is the one that
measures music the scorer never learned from. Training takes minutes, so unlike the critic it
does not resume: the rendered log-mels are what is kept (`preference_data.pt` in the run folder).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from encore.models.errors import EncoreError
from encore.training.grpo.critic import AudioCritic, CriticConfig, load_critic
from encore.training.grpo.mel import LogMel, MelConfig
from encore.training.grpo.preference import PreferenceConfig, chunk_means, save_preference
from encore.training.grpo.preference_config import PreferenceTrainerConfig
from encore.training.grpo.preference_data import ChunkMels, PairVote, read_votes, split_votes
from encore.training.grpo.render import RenderConfig
from encore.training.loss_curves import save_loss_curves
from encore.training.model_card import markdown_table, render_card, training_section
from encore.training.optimizer_step import clipped_step, set_learning_rate

EVAL_CROPS = 64
HISTORY = ("train", "held-out loss", "train error", "held-out error")


class PreferenceTrainer:
    """One preference training run.

    Args:
        config: the run's settings.
    """

    def __init__(self, config: PreferenceTrainerConfig) -> None:
        self.config = config
        if config.threads:
            torch.set_num_threads(config.threads)
        device = config.device if config.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        torch.manual_seed(config.seed)
        self.model = self._initial_model().to(self.device)
        data = read_votes(config.pairs)
        self.votes = data.votes
        train, held_out = split_votes(len(self.votes), config.held_out_fraction, config.seed)
        self.train_votes = [self.votes[i] for i in train]
        self.held_out_votes = [self.votes[i] for i in held_out]
        render = RenderConfig(soundfont=config.soundfont, sample_rate=config.sample_rate,
                              crop_s=config.crop_s, workers=config.render_workers)
        self.data = ChunkMels(data.chunks, render, LogMel(self.model.config.mel),
                              config.run_dir / "preference_data.pt")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate,
                                           weight_decay=0.01)
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.history: dict[str, list] = {name: [] for name in HISTORY}
        self.wall_seconds = 0.0

    def _initial_model(self) -> AudioCritic:
        """A critic's weights (`init_critic`) or a fresh scorer of the critic's shape."""
        config = self.config
        if config.init_critic is None:
            return AudioCritic(CriticConfig(MelConfig(sample_rate=config.sample_rate)))
        model = load_critic(config.init_critic)
        if model.config.mel.sample_rate != config.sample_rate:
            rate = model.config.mel.sample_rate
            raise EncoreError(f"critic {config.init_critic} listens at {rate} Hz: render at that rate "
                              f"(--sample-rate {rate})")
        return model.train()

    def crop_scores(self, chunk_ids: torch.Tensor) -> torch.Tensor:
        """Scores of one random crop of each of `chunk_ids`, with gradients."""
        return self.model.forward_mel(self.data.sample(chunk_ids, self.rng).to(self.device).float())

    @torch.no_grad()
    def all_scores(self) -> torch.Tensor:
        """Every chunk's score in eval mode."""
        self.model.eval()
        crop_scores = torch.cat([self.model.forward_mel(part.to(self.device).float()).cpu()
                                 for part in self.data.mels.split(EVAL_CROPS)])
        self.model.train()
        return chunk_means(crop_scores, self.data.owners(), len(self.data.offsets) - 1)

    def evaluate(self, votes: Sequence[PairVote], scores: torch.Tensor) -> tuple[float, float | None]:
        """Logistic loss over `votes` and accuracy over their decisive ones (None without any)."""
        margins = scores[[v.a for v in votes]] - scores[[v.b for v in votes]]
        targets = torch.tensor([v.target for v in votes])
        loss = float(F.binary_cross_entropy_with_logits(margins, targets))
        decisive = targets != 0.5
        if not bool(decisive.any()):
            return loss, None
        return loss, float(((margins[decisive] > 0) == (targets[decisive] == 1)).float().mean())

    def train(self) -> dict:
        """Train to `steps` (or `max_minutes`), then export; return the metrics."""
        from tqdm import tqdm

        config = self.config
        progress = tqdm(total=config.steps, desc="train preference", unit="step")
        started = time.perf_counter()
        self.model.train()
        while self.step < config.steps:
            set_learning_rate(self.optimizer, config.learning_rate_at(self.step))
            drawn = self.rng.integers(len(self.train_votes), size=config.batch_size)
            batch = [self.train_votes[i] for i in drawn]
            pairs = torch.tensor([(v.a, v.b) for v in batch])
            chunks, inverse = torch.unique(pairs, return_inverse=True)
            scores = self.crop_scores(chunks)
            margins = scores[inverse[:, 0]] - scores[inverse[:, 1]]
            targets = torch.tensor([v.target for v in batch], device=self.device)
            loss = F.binary_cross_entropy_with_logits(margins, targets)
            clipped_step(self.optimizer, loss, self.model.parameters(), config.grad_clip)
            self.step += 1
            self.wall_seconds = time.perf_counter() - started
            self.history["train"].append((self.step, loss.item()))
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
            out_of_time = config.out_of_time(self.wall_seconds)
            if self.step % config.eval_every == 0 or self.step == config.steps or out_of_time:
                accuracy = self._record_evaluation()
                progress.write(f"step {self.step}: held-out pairwise accuracy "
                               f"{'n/a (only draws)' if accuracy is None else f'{accuracy:.3f}'}")
            if out_of_time:
                break
        progress.close()
        return self.finish()

    def _record_evaluation(self) -> float | None:
        scores = self.all_scores()
        held_loss, held_accuracy = self.evaluate(self.held_out_votes, scores)
        _, train_accuracy = self.evaluate(self.train_votes, scores)
        self.history["held-out loss"].append((self.step, held_loss))
        for name, accuracy in (("train error", train_accuracy), ("held-out error", held_accuracy)):
            if accuracy is not None:
                self.history[name].append((self.step, 1 - accuracy))
        run_dir = self.config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        history = self.history
        panels = {"Bradley-Terry loss": {"train": history["train"], "held out": history["held-out loss"]},
                  "pairwise error (votes for A or B)": {"train votes": history["train error"],
                                                        "held out": history["held-out error"]}}
        save_loss_curves(panels, run_dir / "loss_curves.png", "preference (Bradley-Terry)")
        return held_accuracy

    def finish(self) -> dict:
        """Held-out metrics, the reference score, export with the card; returns the metrics."""
        scores = self.all_scores()
        held_loss, held_accuracy = self.evaluate(self.held_out_votes, scores)
        train_loss, train_accuracy = self.evaluate(self.train_votes, scores)
        trained_chunks = sorted({c for v in self.train_votes for c in (v.a, v.b)})
        reference = float(scores[trained_chunks].mean())
        unseen = set(range(len(scores))) - set(trained_chunks)
        new_music = [v for v in self.held_out_votes if v.decisive and {v.a, v.b} & unseen]
        new_accuracy = self.evaluate(new_music, scores)[1] if new_music else None
        metrics = {"votes": len(self.votes), "train_votes": len(self.train_votes),
                   "held_out_votes": len(self.held_out_votes),
                   "held_out_decisive": sum(v.decisive for v in self.held_out_votes),
                   "draws": sum(not v.decisive for v in self.votes), "chunks": len(scores),
                   "crops": len(self.data.mels), "steps": self.step,
                   "wall_minutes": round(self.wall_seconds / 60, 2),
                   "train_loss": train_loss, "train_accuracy": train_accuracy, "held_out_loss": held_loss,
                   "held_out_accuracy": held_accuracy, "held_out_new_chunk_votes": len(new_music),
                   "held_out_new_chunk_accuracy": new_accuracy, "reference_score": reference}
        run_dir = self.config.run_dir
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        config = PreferenceConfig(self.model.config, self.config.crop_s, reference)
        save_preference(run_dir / "export", self.model.eval(), config, preference_card(self.config, metrics,
                                                                                        str(self.device)))
        return metrics


def preference_card(config: PreferenceTrainerConfig, metrics: dict, hardware: str) -> str:
    """Card for a preference scorer."""
    intro = ["Bradley-Terry preference scorer of Encore's GRPO (`encore.training.grpo.preference`): the",
             "audio critic's log-mel CNN, its logit f trained so that P(A beats B) = sigmoid(f(A) - f(B))",
             "on the arena's votes.",
             f"The `preference` reward is sigmoid(f(x) - {metrics['reference_score']:.4f}) (the training",
             "chunks' mean score); silent crops get 0."]
    data = [f"- votes: `{config.pairs}`, {metrics['votes']} votes on {metrics['chunks']} chunks "
            f"({metrics['draws']} draws, each half a win for both sides)",
            f"- split by vote, seed {config.seed}: {metrics['train_votes']} to train, "
            f"{metrics['held_out_votes']} held out",
            f"- rendering: each chunk's MIDI through {config.soundfont.name}, {config.sample_rate} Hz mono, "
            f"cut into {config.crop_s:g} s crops ({metrics['crops']} in all); a chunk's score is the mean "
            "over its crops",
            f"- initialised from: {config.init_critic or 'random weights (no --init-critic)'}"]
    training = training_section(config, optimizer="AdamW (weight decay 0.01)", steps=metrics["steps"],
                                seen="votes drawn with replacement", wall_minutes=metrics["wall_minutes"],
                                hardware=hardware)

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows = [(name, shown(metrics[f"{key}_loss"]), shown(metrics[f"{key}_accuracy"]))
            for name, key in (("train", "train"), ("held out", "held_out"))]
    rows.append((f"held out, with a chunk no training vote holds ({metrics['held_out_new_chunk_votes']})", "",
                 shown(metrics["held_out_new_chunk_accuracy"])))
    held_out = [*markdown_table(("votes", "logistic loss", "pairwise accuracy (votes for A or B)"), rows),
                "", "```json", json.dumps(metrics, indent=2), "```"]
    return render_card("Encore preference reward (Bradley-Terry on arena votes)", intro,
                       {"Data": data, "Training": training, "Held-out": held_out})
