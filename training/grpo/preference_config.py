"""Settings of `encore train preference`, apart from the trainer so the command line reads defaults without
importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.grpo.config import RenderSettings
from encore.training.paths import runs_dir


@dataclass(kw_only=True)
class PreferenceTrainerConfig(TrainerConfig, RenderSettings):
    """Training the Bradley-Terry preference scorer on the arena's exported votes.

    `steps` counts optimizer steps, `batch_size` pairs per step. Render fields: see `RenderSettings`
    (each chunk is rendered from its MIDI file and cut into `crop_s` crops, GRPO's crop length).

    Attributes:
        pairs: the arena's export (`encore arena export --out PAIRS.jsonl`).
        init_critic: an audio critic folder (`encore train critic`) whose weights start the scorer (None:
            random initialisation).
        held_out_fraction: share of the pairs held out (split by pair, seeded by `seed`).
        device: torch device; `auto` is CUDA when available, else CPU.
    """

    pairs: Path
    init_critic: Path | None = None
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    eval_every: int = 50
    held_out_fraction: float = 0.2
    device: str = "auto"

    def __post_init__(self) -> None:
        self.pairs = Path(self.pairs)
        self.init_critic = Path(self.init_critic) if self.init_critic is not None else None
        self.soundfont = Path(self.soundfont)
        super().__post_init__()

    def default_run_dir(self) -> Path:
        return runs_dir("preference")

    def validate(self) -> None:
        super().validate()
        self.check_at_least({"render_workers": 0})
        if not 0 < self.held_out_fraction < 1:
            raise TrainerConfigError("held_out_fraction",
                                     f"must be between 0 and 1 (got {self.held_out_fraction})")
        if not self.crop_s > 0:
            raise TrainerConfigError("crop_seconds", f"must be positive (got {self.crop_s})")
