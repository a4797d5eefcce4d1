"""The audio critic: a small CNN on log-mel spectrograms that tells rendered real piano from rendered
base-model samples; the `critic` reward is its P(real), 0 for silent crops.

A critic folder holds `model.safetensors`, `config.json` (the `CriticConfig`, mel settings included)
and `README.md` (its card, written by `encore train critic`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from encore.models.errors import CheckpointError
from encore.training.grpo.mel import LogMel, MelConfig
from encore.training.grpo.rewards import RewardBatch
from encore.training.paths import runs_dir


def default_critic_folder() -> Path:
    """Where `encore train critic` exports by default."""
    return runs_dir("critic") / "export"


@dataclass
class CriticConfig:
    """Shape of the critic: mel settings, conv channels (each block halves time and frequency), and whether
    it hears level: a `level_invariant` critic sets each crop's loudest log-mel bin to 0 before its first
    layer, so a gain (a louder or softer rendering of the same notes) does not change its score."""

    mel: MelConfig = field(default_factory=MelConfig)
    channels: tuple[int, ...] = (16, 32, 64, 64)
    level_invariant: bool = False

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return {"mel": self.mel.to_dict(), "channels": list(self.channels), "level_invariant": self.level_invariant}

    @classmethod
    def from_dict(cls, data: dict) -> CriticConfig:
        """Inverse of `to_dict` (critics saved before `level_invariant` hear level)."""
        return cls(MelConfig(**data["mel"]), tuple(data["channels"]), bool(data.get("level_invariant", False)))


class AudioCritic(nn.Module):
    """Log-mel -> conv blocks (conv 3x3, batch norm, ReLU, 2x2 max pool) -> global mean -> one logit."""

    def __init__(self, config: CriticConfig | None = None) -> None:
        super().__init__()
        self.config = config or CriticConfig()
        self.mel = LogMel(self.config.mel)
        self.input_norm = nn.BatchNorm2d(1)
        blocks: list[nn.Module] = []
        width = 1
        for channels in self.config.channels:
            blocks += [nn.Conv2d(width, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                       nn.MaxPool2d(2)]
            width = channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 1)

    def forward_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) log-mel -> (B,) logits of "real"."""
        mel = mel.float()
        if self.config.level_invariant:
            mel = mel - mel.amax(dim=(1, 2), keepdim=True)
        hidden = self.blocks(self.input_norm(mel[:, None]))
        return self.head(hidden.mean(dim=(2, 3)))[:, 0]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, samples) audio -> (B,) logits of "real"."""
        return self.forward_mel(self.mel(audio))


def save_critic(folder: Path, model: AudioCritic, card: str) -> Path:
    """Write a critic folder; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2) + "\n")
    (folder / "README.md").write_text(card)
    return folder


def load_critic(folder: Path, device: torch.device | str = "cpu") -> AudioCritic:
    """Load a critic folder, in eval mode.

    Raises:
        CheckpointError: the folder holds no critic (train one with `encore train critic`).
    """
    folder = Path(folder)
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: no critic checkpoint (train one with `encore train critic`)")
    model = AudioCritic(CriticConfig.from_dict(json.loads((folder / "config.json").read_text())))
    model.load_state_dict(load_file(folder / "model.safetensors"))
    return model.to(device).eval()


class CriticReward:
    """P(real) from the critic for each rendered crop; silent crops get 0 whatever the critic says.

    Args:
        model: the critic.
        batch_size: crops per forward pass.
    """

    name = "critic"
    needs_audio = True

    def __init__(self, model: AudioCritic, batch_size: int = 32) -> None:
        self.model = model.eval()
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu") -> CriticReward:
        """The reward of a saved critic."""
        return cls(load_critic(folder, device))

    @torch.no_grad()
    def probabilities(self, audio: torch.Tensor) -> torch.Tensor:
        """(N,) P(real) of (N, samples) audio."""
        device = next(self.model.parameters()).device
        return torch.cat([torch.sigmoid(self.model(chunk.to(device))).cpu()
                          for chunk in audio.split(self.batch_size)]) if len(audio) else torch.zeros(0)

    def score(self, batch: RewardBatch) -> torch.Tensor:
        if batch.audio is None:
            raise ValueError("the critic reward needs rendered audio")
        rendered = batch.audio
        if rendered.sample_rate != self.model.config.mel.sample_rate:
            raise ValueError(f"audio at {rendered.sample_rate} Hz, critic trained at {self.model.config.mel.sample_rate} Hz")
        probabilities = self.probabilities(torch.from_numpy(rendered.audio))
        return probabilities.masked_fill(torch.from_numpy(rendered.silent), 0.0)


__all__ = ["AudioCritic", "CriticConfig", "CriticReward", "default_critic_folder", "load_critic",
           "save_critic"]
