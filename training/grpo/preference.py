"""The `preference` reward: a Bradley-Terry scorer trained on the arena's pairwise votes.

Model: a score f(crop) such that P(A beats B) = sigmoid(f(A) - f(B)). A chunk's score is the mean of f
over its consecutive `crop_s` crops (GRPO's 10 s: a 30-s arena chunk has three), so the function trained
on voted chunks is the one that scores GRPO's single crops. Draws count as half a win each (target 0.5
in the logistic loss, `preference_train.py`), which keeps the model a plain Bradley-Terry one.

Why audio: f is the audio critic's log-mel CNN (`critic.AudioCritic`, its logit is the score) on the
notes rendered at 16 kHz through GRPO's renderer, not the per-piece symbolic features (`features.py`).
Listeners vote on what they hear (timbre, loudness, voicing, texture), which eight symbolic numbers
summarise and the audio keeps; GRPO renders every completion for the critic anyway; and a trained critic
(real piano against our samples) is a starting point, `--init-critic`, that a few hundred votes alone
could not give. Chunks are rendered from their MIDI files rather than decoded from their Ogg files, so
training sees the synth, sample rate and crop that GRPO's completions get, with no codec in between.

Reward: Bradley-Terry scores are defined up to a constant, so the reward is sigmoid(f(x) - reference),
`reference` being the mean score of the training chunks: the probability that x beats a chunk of
average score, in [0, 1] like the other rewards, so weighted specs compose. Silent crops get 0, as with
the critic: the votes never heard silence, so a score there is extrapolation.

A preference folder holds `model.safetensors` (the critic's weight names), `config.json` (the
`PreferenceConfig`) and `README.md` (its card, written by `encore train preference`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from encore.models.errors import CheckpointError
from encore.training.grpo.critic import AudioCritic, CriticConfig
from encore.training.grpo.rewards import RewardBatch
from encore.training.paths import runs_dir


def default_preference_folder() -> Path:
    """Where `encore train preference` exports by default."""
    return runs_dir("preference") / "export"


@dataclass
class PreferenceConfig:
    """The scorer's shape (a critic's), the crop it scores, and the reward's reference score."""

    critic: CriticConfig = field(default_factory=CriticConfig)
    crop_s: float = 10.0
    reference_score: float = 0.0

    @property
    def crop_frames(self) -> int:
        """Samples per crop."""
        return round(self.crop_s * self.critic.mel.sample_rate)

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return {"critic": self.critic.to_dict(), "crop_s": self.crop_s,
                "reference_score": self.reference_score}

    @classmethod
    def from_dict(cls, data: dict) -> PreferenceConfig:
        """Inverse of `to_dict`."""
        return cls(CriticConfig.from_dict(data["critic"]), float(data["crop_s"]),
                   float(data["reference_score"]))


def chunk_means(crop_scores: torch.Tensor, owners: torch.Tensor, chunks: int) -> torch.Tensor:
    """(chunks,) mean of the crops' scores per chunk; `owners` (crops,) says whose crop each is."""
    totals = torch.zeros(chunks, dtype=crop_scores.dtype, device=crop_scores.device)
    totals = totals.index_add(0, owners, crop_scores)
    return totals / torch.bincount(owners, minlength=chunks).clamp(min=1).to(crop_scores.dtype)


def crop_windows(audio: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, samples) audio as consecutive crops of `frames` (the last partial one dropped; audio shorter than
    one crop is padded with silence): the (crops, frames) windows and each window's piece."""
    if audio.shape[1] < frames:
        audio = torch.nn.functional.pad(audio, (0, frames - audio.shape[1]))
    per_piece = audio.shape[1] // frames
    windows = audio[:, :per_piece * frames].reshape(len(audio) * per_piece, frames)
    return windows, torch.arange(len(audio)).repeat_interleave(per_piece)


def save_preference(folder: Path, model: AudioCritic, config: PreferenceConfig, card: str) -> Path:
    """Write a preference folder; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = {name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()}
    save_file(weights, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    (folder / "README.md").write_text(card)
    return folder


def load_preference(folder: Path, device: torch.device | str = "cpu") -> tuple[AudioCritic, PreferenceConfig]:
    """Load a preference folder: the scorer in eval mode and its config.

    Raises:
        CheckpointError: the folder holds no preference scorer.
    """
    folder = Path(folder)
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: no preference checkpoint (train one on the arena's votes with "
                              "`encore train preference --pairs PAIRS.jsonl`)")
    config = PreferenceConfig.from_dict(json.loads((folder / "config.json").read_text()))
    model = AudioCritic(config.critic)
    model.load_state_dict(load_file(folder / "model.safetensors"))
    return model.to(device).eval(), config


class PreferenceReward:
    """sigmoid(f(x) - reference) of each rendered crop (f averaged over crop-long windows); 0 for silence.

    Args:
        model: the Bradley-Terry scorer.
        config: its crop and reference score.
        batch_size: windows per forward pass.
    """

    name = "preference"
    needs_audio = True

    def __init__(self, model: AudioCritic, config: PreferenceConfig, batch_size: int = 32) -> None:
        self.model = model.eval()
        self.config = config
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu") -> PreferenceReward:
        """The reward of a saved preference scorer."""
        return cls(*load_preference(folder, device))

    @torch.no_grad()
    def scores(self, audio: torch.Tensor) -> torch.Tensor:
        """(N,) Bradley-Terry scores of (N, samples) audio: the mean of f over its crop-long windows."""
        if not len(audio):
            return torch.zeros(0)
        device = next(self.model.parameters()).device
        windows, owners = crop_windows(audio.float(), self.config.crop_frames)
        parts = windows.split(self.batch_size)
        crop_scores = torch.cat([self.model(part.to(device)).cpu() for part in parts])
        return chunk_means(crop_scores, owners, len(audio))

    def score(self, batch: RewardBatch) -> torch.Tensor:
        if batch.audio is None:
            raise ValueError("the preference reward needs rendered audio")
        rendered = batch.audio
        trained_at = self.config.critic.mel.sample_rate
        if rendered.sample_rate != trained_at:
            raise ValueError(f"audio at {rendered.sample_rate} Hz, "
                             f"preference scorer trained at {trained_at} Hz")
        scores = self.scores(torch.from_numpy(rendered.audio))
        rewards = torch.sigmoid(scores - self.config.reference_score)
        return rewards.masked_fill(torch.from_numpy(rendered.silent), 0.0)


__all__ = ["PreferenceConfig", "PreferenceReward", "chunk_means", "crop_windows", "default_preference_folder",
           "load_preference", "save_preference"]
