"""Settings of one piano pretraining run, apart from the trainer so the command line reads defaults
without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.paths import runs_dir


@dataclass(kw_only=True)
class PianoTrainerConfig(TrainerConfig):
    """Everything a pretraining run needs; saved beside its checkpoints.

    Shared fields: see `TrainerConfig`. Piano fields:

    Attributes:
        cache_dir: prepared token cache (`encore data piano`), holding the splits and tokenizer.json.
        preset: Phi-3 preset (`default` or `tiny`).
        crop: training crop length in tokens; it may change when a run resumes (a short-to-long curriculum).
        context_length: the model's context (None: the crop); fixed for the life of a run.
        augment: transpose, shift tempo and velocity, and start crops with BOS and the style token
            (`encore.training.piano.augment`).
        init_from: a checkpoint folder whose weights start a new run (a warm start; ignored on resume).
        state_shards: a folder where the resumable state is also written as a few safetensors shards
            (`encore.training.piano.shards`), and resumed from when the run folder has no state: what
            travels back from a lent GPU.
        stop_at: end this invocation at this step (saved and exported) without changing the schedule, which
            still spans `steps`: one phase of a curriculum.
        weight_decay: AdamW weight decay on matrices.
        eval_windows: fixed validation windows for the periodic validation.
        final_eval_windows: held-out windows for the final validation and test losses.
        mixed_precision: bf16 autocast.
        device: torch device; `auto` is CUDA when available, else CPU.
    """

    cache_dir: Path
    preset: str = "default"
    steps: int = 4000
    batch_size: int = 16
    crop: int = 512
    context_length: int | None = None
    augment: bool = False
    init_from: Path | None = None
    stop_at: int | None = None
    state_shards: Path | None = None
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    eval_every: int = 100
    eval_windows: int = 64
    final_eval_windows: int = 512
    mixed_precision: bool = True
    device: str = "auto"

    LEGACY_NAMES: ClassVar[dict[str, str]] = {**TrainerConfig.LEGACY_NAMES, "out_dir": "run_dir"}

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self.init_from = Path(self.init_from) if self.init_from is not None else None
        self.state_shards = Path(self.state_shards) if self.state_shards is not None else None
        if self.context_length is None:
            self.context_length = self.crop
        super().__post_init__()

    def default_run_dir(self) -> Path:
        return runs_dir("piano")

    def validate(self) -> None:
        super().validate()
        self.check_at_least({"crop": 2, "eval_windows": 1, "final_eval_windows": 1})
        if self.context_length < self.crop:
            raise TrainerConfigError("crop", f"must not exceed the context length {self.context_length} (got {self.crop})")
        if self.weight_decay < 0:
            raise TrainerConfigError("weight_decay", f"must not be negative (got {self.weight_decay})")
