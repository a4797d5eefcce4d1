"""The settings every trainer shares: one dataclass, one set of names, one validation.

`PianoTrainerConfig` (`encore.training.piano.config`) and `GrooveTrainerConfig`
(`encore.training.groove.config`) extend `TrainerConfig` with their own fields. The command line adds the
shared options from the same fields (`encore.stage.cli.train_options`), so `encore train piano` and
`encore train groove` spell them alike. No torch here: the command line reads defaults without it.

Run folders keep their config (`to_dict`); `from_dict` reads it back, renaming the fields older runs
stored under other names (`LEGACY_NAMES`) and parsing values older runs stored as strings.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from encore.models.errors import EncoreError
from encore.training.paths import runs_dir
from encore.training.schedule import warmup_cosine


class TrainerConfigError(EncoreError, ValueError):
    """A setting out of range; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


@dataclass(kw_only=True)
class TrainerConfig:
    """Settings shared by all trainers; subclasses change the defaults and add their own fields.

    Attributes:
        steps: optimizer steps planned (the schedule spans them; a resumed run continues up to them).
        batch_size: examples per step (per process under DDP).
        learning_rate: peak learning rate.
        min_lr_ratio: final learning rate as a fraction of the peak (cosine decay).
        warmup_steps: linear warm-up steps before the decay (0: none).
        grad_clip: gradient norm clipping threshold.
        eval_every: steps between validations.
        save_every: steps between saves of the resumable state (None: with each validation).
        max_minutes: stop (and export) after this much wall time in this invocation (None: no limit).
        seed: random seed.
        threads: torch CPU threads (None: torch's default).
        run_dir: folder of the resumable state, loss curves and logs (None: `default_run_dir()`).
    """

    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 0
    grad_clip: float = 1.0
    eval_every: int = 100
    save_every: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    threads: int | None = None
    run_dir: Path | None = None

    LEGACY_NAMES: ClassVar[dict[str, str]] = {"lr": "learning_rate", "time_budget_minutes": "max_minutes"}
    """Old field name -> current name, for configs saved by older runs."""

    def __post_init__(self) -> None:
        if self.save_every is None:
            self.save_every = self.eval_every
        self.run_dir = Path(self.run_dir) if self.run_dir is not None else self.default_run_dir()
        self.validate()

    def default_run_dir(self) -> Path:
        """The run folder when none is given (subclasses name their own)."""
        return runs_dir("train")

    def validate(self) -> None:
        """Raise `TrainerConfigError` for a setting out of range; subclasses extend it."""
        self.check_at_least({"steps": 1, "batch_size": 1, "eval_every": 1, "save_every": 1, "warmup_steps": 0, "seed": 0})
        for name in ("learning_rate", "grad_clip"):
            if not getattr(self, name) > 0:
                raise TrainerConfigError(name, f"must be positive (got {getattr(self, name)})")
        if not 0 <= self.min_lr_ratio <= 1:
            raise TrainerConfigError("min_lr_ratio", f"must be between 0 and 1 (got {self.min_lr_ratio})")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise TrainerConfigError("max_minutes", f"must be positive (got {self.max_minutes})")
        if self.threads is not None and self.threads < 1:
            raise TrainerConfigError("threads", f"must be at least 1 (got {self.threads})")

    def check_at_least(self, minimums: dict[str, int]) -> None:
        """Raise `TrainerConfigError` for the first field below its minimum."""
        for name, low in minimums.items():
            if getattr(self, name) < low:
                raise TrainerConfigError(name, f"must be at least {low} (got {getattr(self, name)})")

    def learning_rate_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to `min_lr_ratio * learning_rate` at `steps`."""
        return warmup_cosine(self.learning_rate, step, self.steps, self.warmup_steps, self.min_lr_ratio)

    def out_of_time(self, elapsed_s: float) -> bool:
        """Whether `elapsed_s` seconds of this invocation exceed `max_minutes`."""
        return self.max_minutes is not None and elapsed_s > 60 * self.max_minutes

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (paths as strings)."""
        return {key: str(value) if isinstance(value, Path) else value
                for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a saved config: old field names renamed, string values parsed, unknown keys dropped."""
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        values: dict[str, Any] = {}
        for key, value in data.items():
            key = cls.LEGACY_NAMES.get(key, key)
            if key in names:
                values[key] = _parse(value, hints[key])
        return cls(**values)


def _parse(value: Any, kind: Any) -> Any:
    """`value` as type `kind`, for configs saved with every value as a string (older piano runs)."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None or (value == "None" and type(None) in options):
        return None
    if not isinstance(value, str):
        return value
    base = next(option for option in options if option is not type(None))
    if base is bool:
        return value == "True"
    if base in (int, float, Path):
        return base(value)
    return value
