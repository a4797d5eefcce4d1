"""`encore train grpo`, `encore train critic` and `encore train preference`: GRPO tuning of the piano, its
audio critic and its Bradley-Terry preference reward (the trainers live in training/grpo/)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from encore.stage.cli.data import add_corpus_arguments, prepared_piano_cache
from encore.stage.cli.train_options import add_trainer_arguments, build_trainer_config
from encore.training.grpo.config import PROMPT_SOURCES, CriticTrainerConfig, GrpoConfig
from encore.training.grpo.preference_config import PreferenceTrainerConfig

REWARD_HELP = ("reward: critic, preference, scale, density, pace (the real continuation's notes per beat; split prompts), "
               "cmajor, audiobox, or weighted names such as critic:1,pace:1")


def _render_arguments(parser: argparse.ArgumentParser, defaults: dict) -> None:
    parser.add_argument("--soundfont", type=Path, default=defaults["soundfont"], help="SoundFont (.sf2/.sf3) to render with")
    parser.add_argument("--sample-rate", type=int, default=defaults["sample_rate"], help="render sample rate (Hz)")
    parser.add_argument("--crop-seconds", dest="crop_s", type=float, default=defaults["crop_s"], help="seconds per crop")
    parser.add_argument("--render-workers", type=int, default=defaults["render_workers"],
                        help="render worker processes (0: in this process)")


def add_train_grpo_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore train grpo`, `encore train critic` and `encore train preference`."""
    defaults = {f.name: f.default for f in dataclasses.fields(GrpoConfig)}
    grpo = subparsers.add_parser("grpo", help="tune the piano with GRPO on a reward (torchrun for DDP)")
    add_corpus_arguments(grpo)
    add_trainer_arguments(grpo, GrpoConfig, run_dir_default="runs/grpo; resumes if it holds a state")
    grpo.add_argument("--iterations", dest="steps", type=int, default=argparse.SUPPRESS,
                      help=f"GRPO iterations (same as --steps; default {defaults['steps']})")
    grpo.add_argument("--reward", default=defaults["reward"], help=REWARD_HELP)
    grpo.add_argument("--critic", type=Path, default=None, help="critic folder (default: runs/critic/export)")
    grpo.add_argument("--preference", type=Path, default=None,
                      help="preference folder for the preference reward (default: runs/preference/export)")
    grpo.add_argument("--audiobox-checkpoint", type=Path, default=None,
                      help="local Audiobox Aesthetics checkpoint for the audiobox reward (optional extra)")
    grpo.add_argument("--checkpoint", default=defaults["checkpoint"], help="base model: a folder or a shipped name")
    for name in ("group_size", "max_new_tokens", "inner_updates", "micro_batch", "prompt_tokens"):
        grpo.add_argument("--" + name.replace("_", "-"), type=int, default=defaults[name])
    for name in ("temperature", "clip_epsilon", "beta", "split_fraction"):
        grpo.add_argument("--" + name.replace("_", "-"), type=float, default=defaults[name])
    grpo.add_argument("--prompts", choices=PROMPT_SOURCES, default=defaults["prompts"],
                      help="procedural prompts, prompts cut from the training split, or both")
    grpo.add_argument("--device", default=defaults["device"], help="auto, cpu or cuda")
    _render_arguments(grpo, defaults)
    grpo.set_defaults(handler=run_train_grpo)

    critic_defaults = {f.name: f.default for f in dataclasses.fields(CriticTrainerConfig)}
    critic = subparsers.add_parser("critic", help="train the audio critic (real renders against base samples)")
    add_corpus_arguments(critic)
    add_trainer_arguments(critic, CriticTrainerConfig, run_dir_default="runs/critic; resumes if it holds a state")
    critic.add_argument("--checkpoint", default=critic_defaults["checkpoint"], help="base model whose samples are fakes")
    for name in ("real_examples", "held_out_examples", "max_new_tokens", "sample_batch"):
        critic.add_argument("--" + name.replace("_", "-"), type=int, default=critic_defaults[name])
    critic.add_argument("--device", default=critic_defaults["device"], help="auto, cpu or cuda")
    critic.add_argument("--level-invariant", action="store_true",
                        help="a critic that does not hear level, so louder playing wins no reward")
    _render_arguments(critic, critic_defaults)
    critic.set_defaults(handler=run_train_critic)
    _add_preference_parser(subparsers)


def _add_preference_parser(subparsers: argparse._SubParsersAction) -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(PreferenceTrainerConfig)}
    preference = subparsers.add_parser("preference", help="train the preference reward on the arena's votes "
                                                          "(Bradley-Terry)")
    preference.add_argument("--pairs", type=Path, required=True, help="the votes: `encore arena export --out PAIRS`")
    preference.add_argument("--init-critic", type=Path, default=None,
                            help="start from this audio critic folder (`encore train critic`; default: random weights)")
    add_trainer_arguments(preference, PreferenceTrainerConfig, run_dir_default="runs/preference")
    preference.add_argument("--held-out-fraction", type=float, default=defaults["held_out_fraction"],
                            help="share of the votes held out, split by vote with --seed")
    preference.add_argument("--device", default=defaults["device"], help="auto, cpu or cuda")
    _render_arguments(preference, defaults)
    preference.set_defaults(handler=run_train_preference)


def run_train_grpo(args: argparse.Namespace) -> int:
    """Tune, export, print the metrics."""
    from encore.training.grpo.grpo import GrpoTrainer

    cache = prepared_piano_cache(args, required=args.prompts != "procedural")
    fields = {name: getattr(args, name) for name in (
        "reward", "critic", "preference", "audiobox_checkpoint", "checkpoint", "group_size", "max_new_tokens", "inner_updates", "micro_batch",
        "prompt_tokens", "temperature", "clip_epsilon", "beta", "split_fraction", "prompts", "device",
        "soundfont", "sample_rate", "crop_s", "render_workers")}
    config = build_trainer_config(GrpoConfig, args, cache_dir=cache, **fields)
    metrics = GrpoTrainer(config).train()
    if metrics:
        print(" ".join(f"{key}={value}" for key, value in metrics.items()))
    return 0


def run_train_critic(args: argparse.Namespace) -> int:
    """Render the data, train the critic, export, print the metrics."""
    from encore.training.grpo.critic_train import CriticTrainer

    fields = {name: getattr(args, name) for name in (
        "checkpoint", "real_examples", "held_out_examples", "max_new_tokens", "sample_batch", "device",
        "soundfont", "sample_rate", "crop_s", "render_workers", "level_invariant")}
    config = build_trainer_config(CriticTrainerConfig, args, cache_dir=prepared_piano_cache(args, required=True), **fields)
    metrics = CriticTrainer(config).train()
    print(" ".join(f"{key}={value}" for key, value in metrics.items()))
    return 0


def run_train_preference(args: argparse.Namespace) -> int:
    """Render the voted chunks, train the Bradley-Terry scorer, export, print the held-out accuracy."""
    from encore.training.grpo.preference_train import PreferenceTrainer

    fields = {name: getattr(args, name) for name in (
        "pairs", "init_critic", "held_out_fraction", "device", "soundfont", "sample_rate", "crop_s", "render_workers")}
    config = build_trainer_config(PreferenceTrainerConfig, args, **fields)
    metrics = PreferenceTrainer(config).train()
    accuracy = metrics["held_out_accuracy"]
    print(f"held-out pairwise accuracy: {'n/a (no decisive held-out votes)' if accuracy is None else f'{accuracy:.3f}'}"
          f" on {metrics['held_out_decisive']} votes for A or B ({metrics['held_out_votes']} held out)")
    if metrics["held_out_new_chunk_accuracy"] is not None:
        print(f"  of which with a chunk no training vote holds: {metrics['held_out_new_chunk_accuracy']:.3f} "
              f"on {metrics['held_out_new_chunk_votes']} votes")
    print(f"exported {config.run_dir / 'export'}; loss curves {config.run_dir / 'loss_curves.png'}")
    return 0
