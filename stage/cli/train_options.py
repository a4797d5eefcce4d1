"""The options every `encore train <model>` command shares, made from the fields of `TrainerConfig`.

`add_trainer_arguments(parser, PianoTrainerConfig)` adds `--steps`, `--learning-rate`, `--max-minutes`, ...
with that config's defaults; `build_trainer_config(PianoTrainerConfig, args, cache_dir=...)` turns the
parsed options back into the config, reporting a bad value as a one-line error naming its flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

from encore.models.errors import EncoreError
from encore.training.config import TrainerConfig, TrainerConfigError

Config = TypeVar("Config", bound=TrainerConfig)

SHARED_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "steps": ((), "optimizer steps planned (a resumed run continues up to them)"),
    "batch_size": ((), "examples per step"),
    "learning_rate": (("--lr",), "peak learning rate"),
    "min_lr_ratio": ((), "final learning rate as a fraction of the peak (cosine decay)"),
    "warmup_steps": ((), "linear warm-up steps"),
    "grad_clip": ((), "gradient norm clipping threshold"),
    "eval_every": ((), "steps between validations"),
    "save_every": ((), "steps between saves of the resumable state (default: with each validation)"),
    "max_minutes": (("--time-budget-minutes",), "stop (and export) after this many minutes of this invocation; none: no limit"),
    "seed": ((), "random seed"),
    "threads": ((), "torch CPU threads (default: torch's choice)"),
    "run_dir": ((), "run folder: resumable state, loss curves, logs"),
}
"""Shared field -> (older flag spellings still accepted, help). The flag is `--` + the field with dashes."""


def flag(name: str) -> str:
    """The command-line flag of a config field."""
    return "--" + name.replace("_", "-")


def _value_type(kind: Any) -> Any:
    """The argparse `type` of a field annotated `kind` (`X | None` also accepts `none`)."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    base = next(option for option in options if option is not type(None))
    if type(None) not in options:
        return base

    def optional(text: str) -> Any:
        return None if text.lower() == "none" else base(text)

    optional.__name__ = base.__name__  # argparse names the type in its error messages
    return optional


def add_trainer_arguments(parser: argparse.ArgumentParser, config_cls: type[TrainerConfig],
                          run_dir_default: str | None = None) -> None:
    """Add the shared trainer options, with `config_cls`'s defaults.

    Args:
        parser: the `encore train <model>` parser.
        config_cls: the trainer's config class (a `TrainerConfig` subclass).
        run_dir_default: how the help describes the default run folder.
    """
    hints = typing.get_type_hints(config_cls)
    defaults = {f.name: f.default for f in dataclasses.fields(config_cls)}
    group = parser.add_argument_group("training (shared by all trainers)")
    for name, (aliases, help_text) in SHARED_OPTIONS.items():
        default = defaults[name]
        shown = run_dir_default if name == "run_dir" and run_dir_default else default
        if shown is not None and "default" not in help_text:
            help_text = f"{help_text} (default: {shown})"
        group.add_argument(flag(name), *aliases, dest=name, type=_value_type(hints[name]), default=default,
                           help=help_text)


def build_trainer_config(config_cls: type[Config], args: argparse.Namespace, **fields: Any) -> Config:
    """`config_cls` from the shared options in `args` plus the trainer's own `fields`.

    Raises:
        EncoreError: a value out of range, named by its flag.
    """
    shared = {name: getattr(args, name) for name in SHARED_OPTIONS}
    try:
        return config_cls(**shared, **fields)
    except TrainerConfigError as error:
        raise EncoreError(f"{flag(error.field)} {error.message}") from None

