"""`encore data ...` and `encore train ...`: corpus preparation and training commands."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from encore.training.paths import default_data_root
from encore.training.piano.sources import DEFAULT_SOURCES, V2_SOURCES

if TYPE_CHECKING:
    from encore.training.piano.prep import PrepConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` and `train` command groups."""
    data = subparsers.add_parser("data", help="prepare training corpora (tokenize and cache)")
    data_sub = data.add_subparsers(dest="data_command", metavar="CORPUS", required=True)
    piano = data_sub.add_parser("piano", help="prepare the piano corpora with the SMART recipe")
    add_corpus_arguments(piano)
    piano.add_argument("--workers", type=int, default=2, help="worker processes for tokenization")
    piano.add_argument("--pack", type=Path, default=None,
                       help="also write the prepared cache as one compressed .npz (to carry to a lent GPU)")
    piano.set_defaults(handler=run_data_piano)
    unpack = data_sub.add_parser("unpack", help="recreate a prepared piano cache from `encore data piano --pack`")
    unpack.add_argument("packed", type=Path, help="the .npz written by --pack")
    unpack.set_defaults(handler=run_data_unpack)
    lieder = data_sub.add_parser("lieder", help="convert the OpenScore Lieder (MusicXML) to MIDI, once (needs music21)")
    lieder.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="folder holding openscore_lieder/ (default: $ENCORE_DATA or ../shared/data)")
    lieder.add_argument("--workers", type=int, default=2, help="worker processes")
    lieder.set_defaults(handler=run_data_lieder)

    train = subparsers.add_parser("train", help="train a model")
    train_sub = train.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    from encore.stage.cli.train_piano import add_train_piano_parser

    add_train_piano_parser(train_sub)
    from encore.stage.cli.train_grpo import add_train_grpo_parsers

    add_train_grpo_parsers(train_sub)
    from encore.stage.cli.train_duet import add_train_duet_parsers

    add_train_duet_parsers(train_sub)
    groove = _optional_module("encore.stage.cli.groove")
    if groove is not None:
        groove.add_data_parser(data_sub)
        groove.add_train_parser(train_sub)


def _optional_module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose which piano data to read."""
    parser.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="folder holding pop909/, piano_midi_de/, asap/ (default: $ENCORE_DATA or ../shared/data)")
    parser.add_argument("--with-asap", action="store_true",
                        help="also use ASAP (CC BY-NC-SA: non-commercial; checkpoints say so in their name)")
    parser.add_argument("--with-rolls", action="store_true",
                        help="also use the Pianolatron piano rolls (license unclear, treated as non-commercial)")
    parser.add_argument("--v2", action="store_true",
                        help="the v2 preparation: performer's parts marked, style tokens, POP909, piano-midi.de, "
                             "GiantMIDI and the OpenScore Lieder (run `encore data lieder` first)")
    parser.add_argument("--sources", type=lambda text: tuple(text.split(",")), default=None,
                        help="comma-separated permissive sources instead of the default set")


def corpus_sources(args: argparse.Namespace) -> tuple[str, ...]:
    """The sources the options ask for."""
    base = getattr(args, "sources", None) or (V2_SOURCES if getattr(args, "v2", False) else DEFAULT_SOURCES)
    return base + (("asap",) if args.with_asap else ()) + (("pianolatron",) if getattr(args, "with_rolls", False) else ())


def is_non_commercial(args: argparse.Namespace) -> bool:
    """Whether the options include a non-commercial source (ASAP or the rolls)."""
    return bool(args.with_asap or getattr(args, "with_rolls", False))


def prep_config(args: argparse.Namespace, **overrides) -> PrepConfig:
    """The preparation the corpus options name (v1's or, with `--v2`, the v2 layout)."""
    from encore.training.piano.prep import PrepConfig

    make = PrepConfig.v2 if getattr(args, "v2", False) else PrepConfig
    return make(data_root=args.data_root, sources=corpus_sources(args), **overrides)


def prepared_piano_cache(args: argparse.Namespace, required: bool) -> Path | None:
    """The prepared piano data the corpus options name; None (or, if `required`, a one-line error) when absent."""
    cache = prep_config(args).cache_dir
    if (cache / "manifest.json").is_file():
        return cache
    if required:
        from encore.models.errors import EncoreError

        raise EncoreError(f"no prepared piano data at {cache}: run `encore data piano` first")
    return None


def run_data_piano(args: argparse.Namespace) -> int:
    """Prepare the piano corpora and print the counts."""
    from encore.training.piano.prep import run_prep

    config = prep_config(args, workers=args.workers)
    try:
        manifest = run_prep(config)
    except FileNotFoundError as error:
        from encore.models.errors import EncoreError

        raise EncoreError(str(error)) from None
    print(format_manifest(manifest, config.cache_dir))
    if args.pack:
        from encore.training.piano.shards import pack_cache

        print(f"packed: {pack_cache(config.cache_dir, args.pack)} ({args.pack.stat().st_size:,} bytes)")
    return 0


def run_data_unpack(args: argparse.Namespace) -> int:
    """Recreate a packed cache where `encore train piano` looks for it."""
    from encore.training.paths import cache_dir
    from encore.training.piano.shards import unpack_cache

    print(f"unpacked: {unpack_cache(args.packed, cache_dir('piano'))}")
    return 0


def run_data_lieder(args: argparse.Namespace) -> int:
    """Convert the Lieder to MIDI and print what happened to them."""
    from collections import Counter

    from encore.models.errors import EncoreError

    if _optional_module("music21") is None:
        raise EncoreError("converting the Lieder needs music21: pip install -e '.[prep]'")
    from encore.training.piano.lieder import convert_lieder, lieder_midi_dir

    outcomes = convert_lieder(args.data_root, workers=args.workers)
    print(f"{lieder_midi_dir()}: " + ", ".join(f"{reason or 'converted'} {count}"
                                               for reason, count in Counter(o.reason for o in outcomes).items()))
    return 0


def format_manifest(manifest: dict, cache_dir: Path) -> str:
    """The data step's report: kept and dropped files, why, and tokens per split."""
    lines = [f"cache: {cache_dir}{' (reused)' if manifest.get('reused_cache') else ''}"]
    lines += [f"  {name}: {count} files" for name, count in manifest["per_source"].items()]
    lines += [f"  dropped, {reason}: {count}" for reason, count in manifest["dropped"].items()]
    for split, counts in manifest["splits"].items():
        lines.append(f"  {split}: " + json.dumps(counts))
    return "\n".join(lines)
