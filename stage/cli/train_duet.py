"""`encore train duet` and `encore train duet-grpo`: the piano as a duet partner (training/duet_tune/, docs/duet.md)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from encore.training.paths import default_data_root, runs_dir


def add_train_duet_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore train duet` and `encore train duet-grpo`."""
    from encore.training.duet_tune.grpo_config import DuetGrpoConfig
    from encore.training.duet_tune.sft import DuetSftConfig

    sft = subparsers.add_parser("duet", help="fine-tune a v2 piano on POP909 with the melody as the performer")
    defaults = {f.name: f.default for f in dataclasses.fields(DuetSftConfig)}
    sft.add_argument("--checkpoint", default=defaults["checkpoint"], help="v2 base: a shipped name or a folder")
    sft.add_argument("--data-root", type=Path, default=default_data_root(), help="folder holding pop909/")
    sft.add_argument("--run-dir", type=Path, default=runs_dir("duet-sft"), help="log, metrics and export/")
    for name in ("steps", "batch_size", "crop", "warmup_steps", "eval_every", "eval_songs", "train_songs", "seed"):
        sft.add_argument("--" + name.replace("_", "-"), type=int, default=defaults[name])
    sft.add_argument("--learning-rate", type=float, default=defaults["learning_rate"])
    sft.set_defaults(handler=run_train_duet)

    grpo = subparsers.add_parser("duet-grpo", help="GRPO of the duet on rewards that can be checked")
    defaults = {f.name: f.default for f in dataclasses.fields(DuetGrpoConfig)}
    grpo.add_argument("--checkpoint", default=defaults["checkpoint"], help="base and reference: a v2 name or folder")
    grpo.add_argument("--data-root", type=Path, default=default_data_root(), help="folder holding pop909/")
    grpo.add_argument("--run-dir", type=Path, default=runs_dir("duet-grpo"), help="log and export/")
    for name in ("iterations", "songs_per_iteration", "group_size", "bars", "seed_bars", "train_songs", "eval_songs",
                 "eval_every", "seed"):
        grpo.add_argument("--" + name.replace("_", "-"), type=int, default=defaults[name])
    for name in ("learning_rate", "temperature", "clip_epsilon", "beta", "max_loss_rise", "lookahead_beats",
                 "commit_beats"):
        grpo.add_argument("--" + name.replace("_", "-"), type=float, default=defaults[name])
    grpo.add_argument("--weights", default=None,
                      help="reward weights, e.g. harmony:1,clash:1,density:0.5,register:0.5,alignment:0.25,doubling:0.25")
    grpo.set_defaults(handler=run_train_duet_grpo)


def run_train_duet(args: argparse.Namespace) -> int:
    """Run the fine-tune and print the held-out losses."""
    from encore.models.errors import EncoreError
    from encore.training.duet_tune.sft import DuetSftConfig, run_duet_sft

    fields = {f.name for f in dataclasses.fields(DuetSftConfig)}
    try:
        config = DuetSftConfig(**{k: v for k, v in vars(args).items() if k in fields})
        metrics = run_duet_sft(config)
    except ValueError as error:
        raise EncoreError(str(error)) from None
    print(f"duet loss {metrics['duet_loss_base']:.4f} -> {metrics['duet_loss_tuned']:.4f}, solo loss "
          f"{metrics['solo_loss_base']:.4f} -> {metrics['solo_loss_tuned']:.4f}; export: {config.run_dir / 'export'}")
    return 0


def run_train_duet_grpo(args: argparse.Namespace) -> int:
    """Run the GRPO loop and print where its export is."""
    from encore.models.errors import EncoreError
    from encore.training.duet_tune.grpo import run_duet_grpo
    from encore.training.duet_tune.grpo_config import DuetGrpoConfig, parse_weights

    fields = {f.name for f in dataclasses.fields(DuetGrpoConfig)}
    try:
        values = {k: v for k, v in vars(args).items() if k in fields and k != "reward"}
        config = DuetGrpoConfig(**values, reward=parse_weights(args.weights))
        metrics = run_duet_grpo(config)
    except ValueError as error:
        raise EncoreError(str(error)) from None
    print(f"{metrics['iterations']} iterations, reward {metrics['reward_first']:.3f} -> {metrics['reward_last']:.3f}, "
          f"held-out loss {metrics['held_out_base']:.4f} -> {metrics['held_out_tuned']:.4f}; "
          f"export: {config.run_dir / 'export'}")
    return 0
