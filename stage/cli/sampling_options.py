"""The sampling options every generating command shares, built from `SamplingConfig`'s fields and defaults."""

from __future__ import annotations

import argparse
import dataclasses

from encore.models.errors import EncoreError
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig

HELP = {
    "temperature": "softmax temperature, 0 (greedy) to 5",
    "top_p": "nucleus mass kept, in (0, 1]",
    "min_p": "drop tokens below this fraction of the top token's probability",
    "repetition_penalty": "divide the probability of recently played pitches by this (1: off)",
    "repetition_window": "how many recent pitches the penalty looks at",
}


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--temperature`, `--top-p`, `--min-p`, `--repetition-penalty`, `--repetition-window`."""
    defaults = SamplingConfig()
    for field in dataclasses.fields(SamplingConfig):
        default = getattr(defaults, field.name)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(default), default=default,
                            help=f"{HELP[field.name]} (default: {default})")


def sampling_from_args(args: argparse.Namespace) -> SamplingConfig:
    """The `SamplingConfig` the options ask for.

    Raises:
        EncoreError: a value out of range, naming the option.
    """
    try:
        return SamplingConfig(**{name: getattr(args, name) for name in SAMPLING_FIELDS})
    except ValueError as error:
        name, _, rule = str(error).partition(":")
        raise EncoreError(f"--{name.replace('_', '-')}:{rule}") from None
