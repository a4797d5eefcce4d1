"""Optional `audiobox` reward: Meta's Audiobox Aesthetics "content enjoyment" (CE, SMART's reward).

Needs the `audiobox-aesthetics` package and torchaudio, which pin their own torch build, so they are
kept out of the default install; and a local checkpoint file (nothing downloads at run time). Without
them, constructing the reward raises a one-line `EncoreError` naming what is missing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from encore.models.errors import EncoreError
from encore.training.grpo.rewards import RewardBatch

REQUIRED = {"audiobox_aesthetics": "audiobox-aesthetics", "torchaudio": "torchaudio"}
"""Import name -> package name of what the reward needs."""


def missing_packages() -> list[str]:
    """Package names of the extra's requirements that are not installed."""
    return [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]


class AudioboxReward:
    """Content enjoyment (CE, about 1-10) per rendered crop; silent crops get 0.

    Raises:
        EncoreError: a package or the checkpoint is missing.
    """

    name = "audiobox"
    needs_audio = True

    def __init__(self, checkpoint: Path | None, device: torch.device | str = "cpu") -> None:
        missing = missing_packages()
        if missing:
            raise EncoreError(f"the audiobox reward needs the optional package(s) {', '.join(missing)} "
                              "(pip install audiobox-aesthetics; it brings its own torchaudio and torch build)")
        if checkpoint is None or not Path(checkpoint).is_file():
            raise EncoreError(f"the audiobox reward needs a local checkpoint file (--audiobox-checkpoint); got {checkpoint}")
        from audiobox_aesthetics.infer import initialize_predictor

        self.predictor = initialize_predictor(ckpt=str(checkpoint))
        self.device = torch.device(device)

    def score(self, batch: RewardBatch) -> torch.Tensor:
        if batch.audio is None:
            raise ValueError("the audiobox reward needs rendered audio")
        rendered = batch.audio
        items = [{"path": torch.from_numpy(crop)[None], "sample_rate": rendered.sample_rate} for crop in rendered.audio]
        scores = torch.tensor([float(result["CE"]) for result in self.predictor.forward(items)]) if items else torch.zeros(0)
        return scores.masked_fill(torch.from_numpy(rendered.silent), 0.0)
