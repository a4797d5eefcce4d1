"""Settings of one groove VAE training run, apart from the training loop so the CLI can read defaults
without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Settings of one training run.

    Attributes:
        model: model kind (see `encore.models.groove.config.MODEL_KINDS`).
        steps: optimizer steps planned (the cosine schedule spans them).
        batch_size: windows per step.
        learning_rate: peak Adam learning rate.
        min_lr_ratio: final learning rate as a fraction of the peak.
        eval_every: steps between validations and state saves.
        max_minutes: stop after this much wall time in this invocation.
        seed: random seed.
        threads: torch CPU threads.
    """

    model: str = "aux"
    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    eval_every: int = 250
    max_minutes: float = 9.0
    seed: int = 0
    threads: int = 1
