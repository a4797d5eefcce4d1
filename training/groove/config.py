"""Settings of one groove VAE training run, apart from the training loop so the CLI can read defaults
without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encore.models.groove.config import MODEL_KINDS
from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.paths import runs_dir


@dataclass(kw_only=True)
class GrooveTrainerConfig(TrainerConfig):
    """Settings of one training run.

    Shared fields: see `TrainerConfig` (no warm-up; the state is saved with each validation). Groove field:

    Attributes:
        model: model kind (see `encore.models.groove.config.MODEL_KINDS`); names the default run folder
            `runs/groove-<model>`.
    """

    model: str = "aux"
    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    eval_every: int = 250
    max_minutes: float | None = 9.0
    threads: int | None = 1

    def default_run_dir(self) -> Path:
        return runs_dir(f"groove-{self.model}")

    def validate(self) -> None:
        super().validate()
        if self.model not in MODEL_KINDS:
            raise TrainerConfigError("model", f"must be one of {', '.join(MODEL_KINDS)} (got {self.model!r})")
