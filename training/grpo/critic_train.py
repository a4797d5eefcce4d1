"""`encore train critic`: render real crops, base-model samples and other negatives (`negatives.py`), train
the audio critic, report its held-out accuracy and sanity ranking (real > base samples > silence, noise, and
negative families it never saw), export it with a card.

The rendered data set (log-mels, fp16) is cached in the run folder, so a resumed run does not sample
or render again; the training state (`train_state.pt`) resumes like the other trainers'.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.grammar import GrammarTables
from encore.models.piano.streaming_decoder import TokenTable
from encore.training.grpo.config import CriticTrainerConfig
from encore.training.grpo.critic import AudioCritic, CriticConfig, save_critic
from encore.training.grpo.mel import MelConfig
from encore.training.grpo.negatives import held_out_negatives, training_negatives
from encore.training.grpo.prompts import PromptMaker
from encore.training.grpo.render import RenderConfig, Renderer
from encore.training.grpo.rollout import sample_rollouts
from encore.training.grpo.timing import TimedNote, timed_notes
from encore.training.loss_curves import save_loss_curves
from encore.training.optimizer_step import clipped_step, set_learning_rate
from encore.training.piano.prep import load_split

SANITY_CROPS = 8
NOISE_AMPLITUDE = 0.1


def real_crops(table: TokenTable, tokens: np.ndarray, offsets: np.ndarray, count: int, crop_s: float,
               rng: np.random.Generator) -> list[list[TimedNote]]:
    """`count` crops of random files (drawn by length), each starting at a random note's onset."""
    lengths = np.diff(offsets)
    files = rng.choice(len(lengths), size=count, p=lengths / lengths.sum())
    crops = []
    for file in files:
        notes = timed_notes(table, tokens[offsets[file]:offsets[file + 1]].tolist())
        onsets = sorted({note.onset_s for note in notes})
        latest = [t for t in onsets if t <= (onsets[-1] - crop_s)] if onsets else []
        start = float(rng.choice(latest or onsets[:1] or [0.0]))
        crops.append([TimedNote(n.onset_s - start, n.pitch, n.velocity, n.duration_s) for n in notes
                      if start <= n.onset_s < start + crop_s])
    return crops


def base_samples(bundle: PianoBundle, prompts: PromptMaker, count: int, max_new_tokens: int, batch: int,
                 generator: torch.Generator) -> list[list[TimedNote]]:
    """`count` completions of the base model, half after procedural prompts, half after split prompts."""
    table = TokenTable.from_tokenizer(bundle.tokenizer)
    tables = GrammarTables(table)
    pieces: list[list[TimedNote]] = []
    while len(pieces) < count:
        size = min(batch, count - len(pieces))
        source = "split" if (len(pieces) // batch) % 2 and prompts.starts is not None else "procedural"
        prompt = prompts.batch(size, source).tokens
        rollouts = sample_rollouts(bundle.model, tables, prompt, max_new_tokens, 1.0, generator)
        pieces += [timed_notes(table, row, prompt.shape[1]) for row in rollouts.sequences.tolist()]
    return pieces


def crop_mels(model: AudioCritic, audio: np.ndarray) -> torch.Tensor:
    """fp16 log-mels (on the CPU) of (N, samples) audio, through `model`'s mel front end."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model.mel(chunk.to(device)).cpu().half() for chunk in torch.from_numpy(audio).split(64)])


@torch.no_grad()
def mel_probabilities(model: AudioCritic, mels: torch.Tensor) -> torch.Tensor:
    """P(real) of log-mels, in eval mode (the model's mode is restored after)."""
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    out = torch.cat([torch.sigmoid(model.forward_mel(chunk.to(device).float())).cpu() for chunk in mels.split(64)])
    model.train(training)
    return out


class CriticTrainer:
    """One critic training run.

    Args:
        config: the run's settings.
        bundle: the base model whose samples are the negatives (default: `load_piano(config.checkpoint)`).
    """

    def __init__(self, config: CriticTrainerConfig, bundle: PianoBundle | None = None) -> None:
        self.config = config
        if config.threads:
            torch.set_num_threads(config.threads)
        device = config.device if config.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self._bundle = bundle
        torch.manual_seed(config.seed)
        self.model = AudioCritic(CriticConfig(MelConfig(sample_rate=config.sample_rate),
                                              level_invariant=config.level_invariant)).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate, weight_decay=0.01)
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.history: dict[str, list] = {"train": [], "validation": []}
        self.wall_seconds = 0.0
        self.data = self._data()
        if self.state_path.is_file():
            state = torch.load(self.state_path, map_location=self.device, weights_only=False)
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.step, self.history, self.wall_seconds = state["step"], state["history"], state["wall_seconds"]
            self.rng.bit_generator.state = state["rng"]

    @property
    def state_path(self) -> Path:
        """Resumable training state."""
        return self.config.run_dir / "train_state.pt"

    def render_config(self) -> RenderConfig:
        """How this run renders."""
        config = self.config
        return RenderConfig(soundfont=config.soundfont, sample_rate=config.sample_rate, crop_s=config.crop_s,
                            workers=config.render_workers)

    def _data(self) -> dict[str, torch.Tensor]:
        """Log-mels and labels of the train and held-out sets (built once, then read from the run folder)."""
        path = self.config.run_dir / "critic_data.pt"
        if path.is_file():
            return torch.load(path, weights_only=True)
        config = self.config
        bundle = self._bundle or load_piano(config.checkpoint)
        table = TokenTable.from_tokenizer(bundle.tokenizer)
        rng = np.random.default_rng(config.seed + 1)
        generator = torch.Generator().manual_seed(config.seed)
        print(f"critic data: sampling {config.real_examples + config.held_out_examples} base completions")
        fakes = base_samples(bundle, PromptMaker(bundle.tokenizer, config.seed, cache_dir=config.cache_dir,
                                                 prompt_tokens=config.prompt_tokens),
                             config.real_examples + config.held_out_examples, config.max_new_tokens,
                             config.sample_batch, generator)
        reals = real_crops(table, *load_split(config.cache_dir, "train"), config.real_examples, config.crop_s, rng)
        held = real_crops(table, *load_split(config.cache_dir, "validation"), config.held_out_examples,
                          config.crop_s, rng)
        print(f"critic data: rendering {len(fakes) + len(reals) + len(held)} crops and the negatives")
        frames = round(config.crop_s * config.sample_rate)
        negatives_rng = np.random.default_rng(config.seed + 7)
        with Renderer(self.render_config()) as renderer:
            audio = {name: renderer.render(pieces).audio
                     for name, pieces in (("train_real", reals), ("held_real", held),
                                          ("train_fake", fakes[:config.real_examples]),
                                          ("held_fake", fakes[config.real_examples:]))}
            audio["train_negatives"] = training_negatives(
                negatives_rng, config.negatives, frames, config.sample_rate, config.crop_s, audio["train_real"],
                lambda pieces: renderer.render(pieces).audio)
        held_out = held_out_negatives(negatives_rng, SANITY_CROPS * 2, frames, config.sample_rate, audio["held_real"])
        mels = {name: self._mels(crops) for name, crops in audio.items()}
        data = {"train": torch.cat([mels["train_real"], mels["train_fake"], mels["train_negatives"]]),
                "train_labels": torch.cat([torch.ones(len(reals)),
                                           torch.zeros(config.real_examples + config.negatives)]),
                "held_real": mels["held_real"], "held_fake": mels["held_fake"],
                **{f"held_out {family}": self._mels(crops) for family, crops in held_out.items()}}
        config.run_dir.mkdir(parents=True, exist_ok=True)
        torch.save(data, path)
        return data

    def _mels(self, audio: np.ndarray) -> torch.Tensor:
        return crop_mels(self.model, audio)

    def probabilities(self, mels: torch.Tensor) -> torch.Tensor:
        """P(real) of log-mels, in eval mode."""
        return mel_probabilities(self.model, mels)

    def held_out_accuracy(self) -> float:
        """Accuracy at threshold 0.5 over the held-out real crops and base samples."""
        real = self.probabilities(self.data["held_real"]) >= 0.5
        fake = self.probabilities(self.data["held_fake"]) < 0.5
        return float(torch.cat([real, fake]).float().mean())

    def train(self) -> dict:
        """Train to `steps` (or `max_minutes`), then export; return the metrics."""
        from tqdm import tqdm

        config = self.config
        features, labels = self.data["train"], self.data["train_labels"]
        progress = tqdm(total=config.steps, initial=self.step, desc="train critic", unit="step")
        invoked = time.perf_counter()
        started = invoked - self.wall_seconds
        self.model.train()
        while self.step < config.steps:
            set_learning_rate(self.optimizer, config.learning_rate_at(self.step))
            rows = torch.from_numpy(self.rng.choice(len(features), size=config.batch_size))
            logits = self.model.forward_mel(features[rows].to(self.device).float())
            loss = F.binary_cross_entropy_with_logits(logits, labels[rows].to(self.device))
            clipped_step(self.optimizer, loss, self.model.parameters(), config.grad_clip)
            self.step += 1
            self.wall_seconds = time.perf_counter() - started
            self.history["train"].append((self.step, loss.item()))
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
            out_of_time = config.out_of_time(time.perf_counter() - invoked)
            last = self.step == config.steps or out_of_time
            if self.step % config.eval_every == 0 or last:
                accuracy = self.held_out_accuracy()
                self.history["validation"].append((self.step, 1 - accuracy))
                progress.write(f"step {self.step}: held-out accuracy {accuracy:.3f}")
            if self.step % config.save_every == 0 or last:
                self._save_state()
            if out_of_time:
                break
        progress.close()
        return self.finish()

    def _save_state(self) -> None:
        path = self.state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                    "history": self.history, "wall_seconds": self.wall_seconds,
                    "rng": self.rng.bit_generator.state, "config": self.config.to_dict()}, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)
        save_loss_curves({"cross-entropy (train) / error rate (held out)": self.history},
                         self.config.run_dir / "loss_curves.png", "audio critic")

    def sanity(self) -> dict[str, float]:
        """Mean P(real) of held-out real crops, held-out base samples, silence, white noise, and each negative
        family training never saw (`negatives.HELD_OUT_FAMILIES`)."""
        frames = round(self.config.crop_s * self.config.sample_rate)
        noise = np.random.default_rng(0).normal(0, NOISE_AMPLITUDE, (SANITY_CROPS, frames)).clip(-1, 1)
        held_out = {name.removeprefix("held_out "): float(self.probabilities(mels).mean())
                    for name, mels in self.data.items() if name.startswith("held_out ")}
        return {
            "real (validation split)": float(self.probabilities(self.data["held_real"]).mean()),
            "base samples": float(self.probabilities(self.data["held_fake"]).mean()),
            "silence": float(self.probabilities(self._mels(np.zeros((SANITY_CROPS, frames), np.float32))).mean()),
            "white noise": float(self.probabilities(self._mels(noise.astype(np.float32))).mean()),
            **{f"{name} (never trained on)": value for name, value in held_out.items()},
        }

    def finish(self) -> dict:
        """Accuracy, sanity ranking, export with the card; returns the metrics."""
        from encore.training.grpo.card import critic_card

        sanity = self.sanity()
        values = list(sanity.values())
        metrics = {"steps": self.step, "wall_minutes": round(self.wall_seconds / 60, 1),
                   "held_out_accuracy": self.held_out_accuracy(), "sanity": sanity,
                   "ranking_as_expected": bool(values[0] > values[1] > max(values[2:]))}
        run_dir = self.config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        save_critic(run_dir / "export", self.model.eval(), critic_card(self.config, metrics, str(self.device)))
        return metrics
