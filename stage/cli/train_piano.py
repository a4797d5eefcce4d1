"""`encore train piano`: options for the pretraining run (the trainer lives in training/piano_trainer.py)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from encore.training.paths import REPO_ROOT


def add_train_piano_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore train piano`."""
    from encore.stage.cli.data import add_corpus_arguments

    parser = subparsers.add_parser("piano", help="pretrain the piano transformer (torchrun for DDP)")
    add_corpus_arguments(parser)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "piano", help="run folder (resumes if it exists)")
    parser.add_argument("--preset", default="default", help="model preset: default or tiny")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=512, help="training crop length in tokens")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--time-budget-minutes", type=float, default=None, help="stop (and export) after this long")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--final-eval-windows", type=int, default=512, help="held-out windows for the final losses")
    parser.add_argument("--export-only", action="store_true",
                        help="do not train: evaluate and export the run's latest saved state")
    parser.add_argument("--publish", type=Path, default=None,
                        help="copy the exported fp16 checkpoint here (e.g. models/checkpoints/piano-default)")
    parser.set_defaults(handler=run_train_piano)


NON_COMMERCIAL_SUFFIX = "-asap-noncommercial"


def licensed_name(folder: Path, with_asap: bool) -> Path:
    """`folder`, renamed to say non-commercial when the run trains on ASAP (CC BY-NC-SA)."""
    if not with_asap or folder.name.endswith(NON_COMMERCIAL_SUFFIX):
        return folder
    return folder.with_name(folder.name + NON_COMMERCIAL_SUFFIX)


def run_train_piano(args: argparse.Namespace) -> int:
    """Prepare (or reuse) the data, train, and export."""
    from encore.stage.cli.data import corpus_sources
    from encore.training.piano.prep import PrepConfig, run_prep
    from encore.training.piano.trainer import TrainConfig, Trainer

    prep = PrepConfig(data_root=args.data_root, sources=corpus_sources(args))
    run_prep(prep, progress=False)
    out = licensed_name(args.out, args.with_asap)
    config = TrainConfig(
        cache_dir=prep.cache_dir, out_dir=out, preset=args.preset, steps=args.steps, batch_size=args.batch_size,
        crop=args.crop, lr=args.lr, warmup_steps=args.warmup_steps, eval_every=args.eval_every,
        save_every=args.save_every, time_budget_minutes=args.time_budget_minutes, threads=args.threads,
        final_eval_windows=args.final_eval_windows,
    )
    trainer = Trainer(config)
    metrics = trainer.finish() if args.export_only else trainer.train()
    if metrics:
        print(" ".join(f"{key}={value}" for key, value in metrics.items()))
        if args.publish:
            publish = licensed_name(args.publish, args.with_asap)
            shutil.copytree(out / "export", publish, dirs_exist_ok=True)
            print(f"published {publish}")
    return 0
