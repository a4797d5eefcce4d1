"""`encore train piano`: options for the pretraining run (the trainer lives in training/piano/trainer.py).

The options shared with every trainer (`--steps`, `--learning-rate`, `--max-minutes`, `--run-dir`, ...)
come from `encore.stage.cli.train_options`; the piano's own are added here."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

from encore.stage.cli.train_options import add_trainer_arguments, build_trainer_config
from encore.training.piano.config import PianoTrainerConfig


def add_train_piano_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore train piano`."""
    from encore.stage.cli.data import add_corpus_arguments

    defaults = {field.name: field.default for field in dataclasses.fields(PianoTrainerConfig)}
    parser = subparsers.add_parser("piano", help="pretrain the piano transformer (torchrun for DDP)")
    add_corpus_arguments(parser)
    add_trainer_arguments(parser, PianoTrainerConfig, run_dir_default="runs/piano; resumes if it holds a state")
    # `--out` was the run folder's flag before the trainers shared their options.
    parser.add_argument("--out", dest="run_dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default=defaults["preset"], help="model preset: default or tiny")
    parser.add_argument("--crop", type=int, default=defaults["crop"],
                        help="training crop length in tokens (may change on resume: a short-to-long curriculum)")
    parser.add_argument("--context-length", type=int, default=None,
                        help="the model's context in tokens (default: the crop); fixed for a run")
    parser.add_argument("--augment", action="store_true",
                        help="transpose, shift tempo and velocity, and start crops with BOS and the style token")
    parser.add_argument("--device", default=defaults["device"], help="torch device: auto (CUDA when available), cpu or cuda")
    parser.add_argument("--eval-windows", type=int, default=defaults["eval_windows"],
                        help="validation windows at each --eval-every")
    parser.add_argument("--state-shards", type=Path, default=None,
                        help="also keep the resumable state here as <=16 MiB safetensors shards, and resume "
                             "from them when the run folder has none (a lent GPU's round trip)")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="end this invocation at this step, the schedule still spanning --steps (a curriculum phase)")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start a new run from this checkpoint's weights (a warm start)")
    parser.add_argument("--final-eval-windows", type=int, default=defaults["final_eval_windows"],
                        help="held-out windows for the final losses")
    parser.add_argument("--export-only", action="store_true",
                        help="do not train: evaluate and export the run's latest saved state")
    parser.add_argument("--publish", type=Path, default=None,
                        help="copy the exported fp16 checkpoint here (e.g. models/checkpoints/piano-default)")
    parser.set_defaults(handler=run_train_piano)


NON_COMMERCIAL_SUFFIX = "-asap-noncommercial"


def licensed_name(folder: Path, non_commercial: bool) -> Path:
    """`folder`, renamed to say non-commercial when the run trains on ASAP (CC BY-NC-SA) or the rolls."""
    if not non_commercial or folder.name.endswith(NON_COMMERCIAL_SUFFIX):
        return folder
    return folder.with_name(folder.name + NON_COMMERCIAL_SUFFIX)


def run_train_piano(args: argparse.Namespace) -> int:
    """Prepare (or reuse) the data, train, and export."""
    from encore.stage.cli.data import is_non_commercial, prep_config
    from encore.training.piano.prep import run_prep
    from encore.training.piano.trainer import Trainer

    prep = prep_config(args)
    config = build_trainer_config(PianoTrainerConfig, args, cache_dir=prep.cache_dir, preset=args.preset,
                                  crop=args.crop, context_length=args.context_length, augment=args.augment,
                                  init_from=args.init_from, stop_at=args.stop_at,
                                  state_shards=args.state_shards, device=args.device,
                                  eval_windows=args.eval_windows, final_eval_windows=args.final_eval_windows)  # checked first
    config.run_dir = out = licensed_name(config.run_dir, is_non_commercial(args))
    run_prep(prep, progress=False)
    trainer = Trainer(config)
    metrics = trainer.finish() if args.export_only else trainer.train()
    if metrics:
        print(" ".join(f"{key}={value}" for key, value in metrics.items()))
        if args.publish:
            publish = licensed_name(args.publish, is_non_commercial(args))
            shutil.copytree(out / "export", publish, dirs_exist_ok=True)
            print(f"published {publish}")
    return 0
