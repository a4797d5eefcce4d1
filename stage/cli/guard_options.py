"""`--no-guard` and `--guard-threshold`: the originality guard's switches, shared by `encore play` and
`encore generate` (docs/guard.md)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from encore.engine.voices.originality import MAX_THRESHOLD, MIN_THRESHOLD, GuardSettings
from encore.models.errors import EncoreError


def add_guard_arguments(parser: argparse.ArgumentParser, default_from: str) -> None:
    """Add `--no-guard` and `--guard-threshold`; `default_from` says where the defaults come from."""
    group = parser.add_argument_group("originality guard (docs/guard.md)")
    group.add_argument("--no-guard", action="store_true",
                       help=f"do not check the piano against its training corpus (default: {default_from})")
    group.add_argument("--guard-threshold", type=int, default=None, metavar="NOTES",
                       help=f"a copy is this many top-line notes in a row found in one training piece, "
                            f"{MIN_THRESHOLD}-{MAX_THRESHOLD}; lower catches more (default: {default_from})")


def guard_from_args(args: argparse.Namespace, base: GuardSettings | None = None) -> GuardSettings:
    """`base` (a setlist's `[guard]`; None: on at the index's threshold) with the options given over it.

    Raises:
        EncoreError: a threshold out of range, or one given with `--no-guard`, naming the option.
    """
    settings = base or GuardSettings()
    if args.no_guard and args.guard_threshold is not None:
        raise EncoreError("--guard-threshold: the guard is off (--no-guard); give one or the other")
    try:
        if args.guard_threshold is not None:
            settings = replace(settings, enabled=True, threshold=args.guard_threshold)
    except ValueError as error:
        raise EncoreError(f"--guard-{error}, got {args.guard_threshold}") from None
    return replace(settings, enabled=False) if args.no_guard else settings
