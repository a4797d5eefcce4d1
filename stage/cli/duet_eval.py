"""`encore duet-eval`: the piano in duet with POP909's melodies, scored against the songs' chords (docs/duet.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.training.paths import default_data_root, runs_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore duet-eval`."""
    parser = subparsers.add_parser(
        "duet-eval", help="score the piano's duet with POP909 melodies against the annotated chords",
        description="Plays each song's melody into the engine's duet on its virtual clock and scores the "
                    "piano's notes per beat against chord_midi.txt, beside the song's real accompaniment.")
    parser.add_argument("--checkpoint", default="default",
                        help="piano checkpoint judged: a shipped name (default: models/checkpoints/piano-default) or a folder")
    parser.add_argument("--style", default=None, help="a v2 checkpoint's style token (pop suits POP909)")
    parser.add_argument("--songs", type=int, default=10, help="how many songs (the split's first that qualify)")
    parser.add_argument("--song", action="append", default=[], metavar="ID",
                        help="score this song instead (repeatable; e.g. --song 003)")
    parser.add_argument("--split", default="test", choices=("train", "validation", "test"))
    parser.add_argument("--bars", type=int, default=16, help="bars scored per song")
    parser.add_argument("--seed-bars", type=int, default=4, help="bars of the song's PIANO part seeding the piano")
    parser.add_argument("--seed", type=int, default=0, help="the piano's sampling seed")
    parser.add_argument("--no-plots", action="store_true", help="skip the per-song PNGs")
    parser.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="folder holding pop909/ (default: $ENCORE_DATA or ../shared/data)")
    parser.add_argument("--out", type=Path, default=runs_dir("duet-eval"), help="where the report and PNGs go")
    parser.set_defaults(handler=run_duet_eval_command)


def run_duet_eval_command(args: argparse.Namespace) -> int:
    """Run the evaluation and print the summary table."""
    from encore.models.errors import EncoreError
    from encore.models.shipped import resolve_checkpoint
    from encore.training.duet_eval.evaluate import DuetEvalConfig, run_duet_eval
    from encore.training.duet_eval.runner import PianoChoice

    try:
        config = DuetEvalConfig(args.data_root, args.out, PianoChoice(args.checkpoint, args.seed, args.style),
                                args.songs, tuple(args.song), args.split, args.bars, args.seed_bars, not args.no_plots)
    except ValueError as error:
        raise EncoreError(str(error)) from None
    if args.checkpoint != "tiny":  # the random test model; anything else must exist before a song is played
        resolve_checkpoint(args.checkpoint, "piano")
    results, skipped = run_duet_eval(config)
    print((args.out / "summary.md").read_text() if results or skipped else "no songs to score")
    return 0 if results else 1
