"""The `encore` command: one parser, subcommands registered by the module that owns them.

Each command module exposes `register(subparsers)`, adds its parsers and sets `handler` to a function
taking the parsed namespace and returning an exit code. Handlers import heavy libraries lazily so
`encore --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from encore.models.errors import EncoreError

COMMAND_MODULES = (
    "encore.stage.cli.data",
    "encore.stage.cli.generate",
    "encore.stage.cli.play",
    "encore.stage.cli.groove",
    "encore.stage.cli.validate",
    "encore.stage.cli.plagiarism",
    "encore.stage.cli.grpo_compare",
    "encore.stage.cli.send",
    "encore.stage.cli.arena",
    "encore.stage.cli.guard",
    "encore.stage.cli.eval_piano",
    "encore.stage.cli.duet_eval",
)


def build_parser() -> argparse.ArgumentParser:
    """The full `encore` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="encore", description="Live-performance music generation engine.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `encore` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except EncoreError as error:
        print(f"encore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
