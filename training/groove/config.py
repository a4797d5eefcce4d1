"""Settings of one groove VAE training run, apart from the training loop so the CLI can read defaults
without importing torch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from encore.models.groove.config import MODEL_KINDS, SETUPS, GrooveConfig
from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.groove.window_draw import WINDOW_DRAWS
from encore.training.paths import runs_dir


@dataclass(kw_only=True)
class GrooveTrainerConfig(TrainerConfig):
    """Settings of one training run.

    Shared fields: see `TrainerConfig` (no warm-up; the state is saved with each validation). Groove field:

    Attributes:
        model: model kind (see `encore.models.groove.config.MODEL_KINDS`); names the default run folder
            `runs/groove-<model>`.
        setup: named setup of the model config (`encore.models.groove.config.SETUPS`: `encore`, `paper`).
        model_options: further `GrooveConfig` field overrides, for ablations (`{"dropout": 0.0}`).
        device: torch device to train on: `cpu`, `cuda` or `auto` (CUDA when available). The resumable
            state restores the CPU random state only, so a resumed CUDA run is not bit-exact.
        windows: which training windows batches draw: `hop` (every window, one-bar hop) or `paper`
            (GrooVAE's non-overlapping windows, at most 20 per file per pass; `encore.training.groove.window_draw`).
    """

    model: str = "aux"
    setup: str = "encore"
    model_options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    windows: str = "hop"
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
        if self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:"):
            raise TrainerConfigError("device", f"must be cpu, cuda, cuda:N or auto (got {self.device!r})")
        if self.windows not in WINDOW_DRAWS:
            raise TrainerConfigError("windows", f"must be one of {', '.join(WINDOW_DRAWS)} (got {self.windows!r})")
        if self.setup not in SETUPS:
            raise TrainerConfigError("setup", f"must be one of {', '.join(SETUPS)} (got {self.setup!r})")
        try:
            self.model_config()
        except (TypeError, ValueError) as error:
            raise TrainerConfigError("model_options", str(error)) from None

    def resolved_device(self) -> str:
        """`device` with `auto` resolved (imports torch)."""
        import torch

        return ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device

    def model_config(self) -> GrooveConfig:
        """The model config this run trains: the kind's preset in the setup, with the options applied."""
        return GrooveConfig.from_name(self.model, self.setup, **self.model_options)


def parse_model_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line, the value read as JSON (`dropout=0.7`, `values_on_all_steps=true`).

    Raises:
        ValueError: without `=`, or for a value that is not JSON.
    """
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{text!r}: expected KEY=VALUE")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(f"{text!r}: the value must be a number, true or false") from None
