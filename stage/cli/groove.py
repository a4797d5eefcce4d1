"""Command-line registration of the groove VAE: `encore groove data|train|library|humanize|drumify|eval`.

`register(subparsers)` adds the top-level `groove` command. The shared `encore data` and `encore train`
groups belong to the piano side; their owner calls `add_data_parser(data_subparsers)` and
`add_train_parser(train_subparsers)` to add `encore data groove` and `encore train groove`, which are the
same commands as `encore groove data` and `encore groove train`. Handlers import torch lazily.

    encore groove data [--data-root DIR] [--rebuild]
    encore groove train --model baseline|factorized|aux|aux11 [--setup encore|paper] [--model-option K=V]
        [--windows hop|paper] [--steps N] [--max-minutes M] [--resume]
    encore groove humanize SCORE.mid --out OUT.mid [--groove GROOVE.mid] [--samples N]
    encore groove drumify TAP.mid --out OUT.mid [--samples N]
    encore groove eval [--models ...] [--out docs/groove-eval.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from encore.models.errors import EncoreError
from encore.models.groove.config import MODEL_KINDS, SETUPS

if TYPE_CHECKING:
    from encore.models.groove.model import GrooveModel



def _data_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=Path, default=None, help="folder holding groove/ (default: $ENCORE_DATA or ../shared/data)")


def _model_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--model", default=default, help=f"checkpoint folder or shipped kind ({', '.join(MODEL_KINDS)}; default {default})")


def _sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", type=int, default=1, help="number of outputs (OUT_1.mid ... when more than 1)")
    parser.add_argument("--temperature", type=float, default=1.0, help="scale of the latent standard deviation")
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible output")


def add_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `groove` (build the cached GMD windows) under a `data` group."""
    parser = subparsers.add_parser("groove", help="two-bar GMD drum windows, cached in .cache/groove")
    _data_root_option(parser)
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache folder (default .cache/groove)")
    parser.set_defaults(handler=run_data)
    return parser


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `groove` (train one groove VAE) under a `train` group; the shared trainer options come from
    `encore.stage.cli.train_options`."""
    from encore.stage.cli.train_options import add_trainer_arguments
    from encore.training.groove.config import GrooveTrainerConfig
    from encore.training.groove.window_draw import WINDOW_DRAWS

    parser = subparsers.add_parser("groove", help="train a groove VAE on GMD")
    parser.add_argument("--model", choices=MODEL_KINDS, default=GrooveTrainerConfig.model)
    parser.add_argument("--setup", choices=SETUPS, default=GrooveTrainerConfig.setup,
                        help="model setup: encore (the shipped models') or paper (GrooVAE's; docs/groove.md)")
    parser.add_argument("--model-option", dest="model_options", action="append", default=[], metavar="KEY=VALUE",
                        help="override one model config field, e.g. dropout=0.7 (repeatable; for ablations)")
    parser.add_argument("--device", default=GrooveTrainerConfig.device, help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--windows", choices=WINDOW_DRAWS, default=GrooveTrainerConfig.windows,
                        help="training windows: hop (every window, one-bar hop; default) or paper (GrooVAE's "
                             "non-overlapping ones, at most 20 per file per pass)")
    add_trainer_arguments(parser, GrooveTrainerConfig, run_dir_default="runs/groove-<model>")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's state.pt")
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder (default models/checkpoints/groove-<model>)")
    _data_root_option(parser)
    parser.set_defaults(handler=run_train)
    return parser


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the top-level `groove` command and its subcommands."""
    groove = subparsers.add_parser("groove", help="groove VAE: data, training, humanize, drumify, evaluation")
    commands = groove.add_subparsers(dest="groove_command", metavar="SUBCOMMAND")
    groove.set_defaults(handler=lambda _args: (groove.print_help(), 2)[1])
    add_data_parser(_Renamed(commands, "data"))
    add_train_parser(_Renamed(commands, "train"))

    library = commands.add_parser("library", help="rebuild the named-groove library from GMD beats")
    _data_root_option(library)
    library.set_defaults(handler=run_library)

    humanize = commands.add_parser("humanize", help="give a quantized drum score timing and dynamics")
    humanize.add_argument("score", help="drum MIDI file (channel 10, 4/4)")
    humanize.add_argument("--out", required=True, help="output MIDI file")
    humanize.add_argument("--groove", default=None, help="MIDI file whose groove (onsets, velocities) to play it with")
    _model_option(humanize, "aux")
    _sampling_options(humanize)
    humanize.set_defaults(handler=run_humanize)

    drumify = commands.add_parser("drumify", help="turn a tapped rhythm into drums")
    drumify.add_argument("tap", help="any 4/4 MIDI file; its onsets and velocities are the groove")
    drumify.add_argument("--out", required=True, help="output MIDI file")
    _model_option(drumify, "aux")
    _sampling_options(drumify)
    drumify.set_defaults(handler=run_drumify)

    evaluate = commands.add_parser("eval", help="reproduce the paper's tables on the GMD test split")
    evaluate.add_argument("--models", nargs="+", default=list(MODEL_KINDS), help="checkpoint kinds or folders")
    evaluate.add_argument("--limit", type=int, default=None, help="use only the first N test windows")
    evaluate.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    evaluate.add_argument("--seed", type=int, default=0)
    _data_root_option(evaluate)
    evaluate.set_defaults(handler=run_eval)


class _Renamed:
    """Adapter so the shared `add_*_parser` functions can add their parser under another name."""

    def __init__(self, subparsers: argparse._SubParsersAction, name: str) -> None:
        self._subparsers = subparsers
        self._name = name

    def add_parser(self, _name: str, **kwargs: object) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(self._name, **kwargs)


def _positive(value: int, name: str) -> None:
    if value < 1:
        raise EncoreError(f"--{name} must be at least 1")


def run_data(args: argparse.Namespace) -> int:
    """Build (or read) the cached windows and print the counts per split."""
    from encore.training.groove.data import load_windows

    sets, cached = load_windows(args.data_root, args.cache_dir, args.rebuild)
    source = "cache" if cached else "MIDI files"
    for split, windows in sets.items():
        print(f"{split}: {len(windows)} windows")
    print(f"groove windows read from {source}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Train one model and print the checkpoint folder."""
    from encore.stage.cli.train_options import build_trainer_config
    from encore.training.groove.config import GrooveTrainerConfig, parse_model_option
    from encore.training.groove.trainer import train

    try:
        options = dict(parse_model_option(text) for text in args.model_options)
    except ValueError as error:
        raise EncoreError(f"--model-option {error}") from None
    config = build_trainer_config(GrooveTrainerConfig, args, model=args.model, setup=args.setup,
                                  model_options=options, device=args.device, windows=args.windows)
    print(f"checkpoint written to {train(config, args.data_root, args.resume, args.out)}")
    return 0


def run_library(args: argparse.Namespace) -> int:
    """Rebuild the groove library."""
    from encore.training.groove.library import write_library

    print(f"{write_library(args.data_root)} grooves written")
    return 0


def _load(model: str) -> GrooveModel:
    import torch

    from encore.models.groove.model import GrooveModel

    torch.set_num_threads(1)
    return GrooveModel.load(model)


def run_humanize(args: argparse.Namespace) -> int:
    """Humanize a score file."""
    from encore.models.groove.files import read_drum_score, read_tap

    _positive(args.samples, "samples")
    read_drum_score(args.score)
    if args.groove:
        read_tap(args.groove)
    from encore.training.groove.offline import humanize_file

    written = humanize_file(_load(args.model), args.score, args.out, args.groove, args.samples, args.temperature, args.seed)
    print("\n".join(str(path) for path in written))
    return 0


def run_drumify(args: argparse.Namespace) -> int:
    """Drumify a tap file."""
    from encore.models.groove.files import read_tap

    _positive(args.samples, "samples")
    read_tap(args.tap)
    from encore.training.groove.offline import drumify_file

    written = drumify_file(_load(args.model), args.tap, args.out, args.samples, args.temperature, args.seed)
    print("\n".join(str(path) for path in written))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """Run the evaluation and print the tables."""
    from encore.training.groove.eval import evaluate, format_report, write_results

    results = evaluate(args.models, args.data_root, args.limit, args.seed)
    print(format_report(results))
    if args.out:
        write_results(args.out, results)
    return 0
