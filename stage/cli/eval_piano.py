"""`encore eval piano`: held-out measures of piano checkpoints side by side (training/piano/evaluate.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from encore.stage.cli import eval_continuations
from encore.stage.cli.data import add_corpus_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore eval piano`."""
    group = subparsers.add_parser("eval", help="held-out measures of trained models")
    sub = group.add_subparsers(dest="eval_command", metavar="MODEL", required=True)
    parser = sub.add_parser("piano", help="test loss, bits per note, loss by position, per source, style")
    add_corpus_arguments(parser)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint names or folders (piano-default, runs/x/export)")
    parser.add_argument("--long-windows", type=int, default=64, help="context-long windows for the loss by position")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.set_defaults(handler=run_eval_piano)
    eval_continuations.add_parser(sub)


def run_eval_piano(args: argparse.Namespace) -> int:
    """Score each checkpoint on the default test split and, with `--v2`, the v2 measures."""
    from encore.models.errors import EncoreError
    from encore.models.piano.checkpoint import load_piano
    from encore.models.shipped import resolve_checkpoint
    from encore.stage.cli.data import prep_config
    from encore.training.piano.evaluate import evaluate

    default_cache = prep_config(argparse.Namespace(**{**vars(args), "v2": False, "sources": None})).cache_dir
    v2_cache = prep_config(args).cache_dir if args.v2 else None
    for cache in (default_cache, v2_cache):
        if cache is not None and not (cache / "manifest.json").is_file():
            raise EncoreError(f"no prepared piano data at {cache}: run `encore data piano` with the same options")
    report = {name: evaluate(load_piano(resolve_checkpoint(name, "piano")), default_cache, v2_cache, args.long_windows)
              for name in args.checkpoints}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0
