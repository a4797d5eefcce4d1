"""`encore arena`: entries cut into chunks, a listening page, TrueSkill ratings, machine judges, export.

Subcommands: add, serve, leaderboard, judge, agreement, export; each takes `--db ARENA.sqlite`
(default `arena.sqlite` in the working directory). See docs/arena.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.stage.arena.store import DEFAULT_DB, VOTERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore arena` and its subcommands."""
    parser = subparsers.add_parser("arena", help="compare entries by pairwise listening votes (TrueSkill)")
    commands = parser.add_subparsers(dest="arena_command", metavar="SUBCOMMAND", required=True)
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"the arena database (default: ./{DEFAULT_DB})")

    add = commands.add_parser("add", parents=[database], help="cut an entry into ~30 s chunks, render and store them")
    add.add_argument("name", help="the entry's name on the leaderboard (letters, digits, . _ -)")
    add.add_argument("entry", type=Path, help="the entry MIDI file (an hour, as for the challenge)")
    add.add_argument("--allow-short", action="store_true", help="take an entry shorter than an hour")
    add.add_argument("--codec", choices=("vorbis", "opus"), default="vorbis", help="Ogg codec (default: vorbis)")
    add.add_argument("--sample-rate", type=int, default=0, help="Hz (default: 44100 for vorbis, 48000 for opus)")
    add.add_argument("--workers", type=int, default=2, help="render processes (default: 2)")
    add.set_defaults(handler=run_add)

    serve = commands.add_parser("serve", parents=[database], help="serve the listening page")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: the venue's network)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--min-play", type=float, default=5.0, help="seconds each chunk must play before voting")
    serve.add_argument("--no-leaderboard", action="store_true", help="do not show the leaderboard after a vote")
    serve.add_argument("--seed", type=int, default=None, help="random seed of the pair choice")
    serve.set_defaults(handler=run_serve)

    board = commands.add_parser("leaderboard", parents=[database], help="print the TrueSkill leaderboard")
    _add_vote_filter(board)
    board.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    board.add_argument("--png", type=Path, default=None, help="also plot mu +/- k sigma per entry")
    board.set_defaults(handler=run_leaderboard)

    judge = commands.add_parser("judge", parents=[database], help="let a reward model vote")
    _add_reward(judge)
    judge.add_argument("--votes", type=int, required=True, help="how many votes to cast")
    judge.add_argument("--seed", type=int, default=None, help="random seed of the pair choice")
    judge.add_argument("--as", dest="judge_name", default=None, metavar="NAME",
                       help="store the votes under this judge name (default: the reward's; give each critic "
                            "its own, e.g. critic2, to tell their votes apart)")
    judge.set_defaults(handler=run_judge)

    agree = commands.add_parser("agreement", parents=[database],
                                help="how often a reward agrees with the human votes, pair by pair")
    _add_reward(agree)
    agree.set_defaults(handler=run_agreement)

    export = commands.add_parser("export", parents=[database], help="write the votes as pairwise preference data")
    export.add_argument("--out", type=Path, required=True, help="the JSON-lines file to write")
    _add_vote_filter(export)
    export.set_defaults(handler=run_export)


def _add_vote_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voters", choices=VOTERS, default="all", help="which votes count (default: all)")
    parser.add_argument("--judge", default=None, help="only this machine judge's votes (e.g. scale)")


def _add_reward(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reward", required=True,
                        help="a GRPO reward: critic, audiobox, scale, density, cmajor, or weighted: critic:1,density:0.2")
    parser.add_argument("--critic", type=Path, default=None, help="the critic checkpoint folder for `critic`")
    parser.add_argument("--draw-margin", type=float, default=0.0, help="scores this close are a draw (default: 0)")


def run_add(args: argparse.Namespace) -> int:
    """Check, split, render and store an entry, with a progress bar over its chunks."""
    from tqdm import tqdm

    from encore.stage.arena.adding import add_entry
    from encore.stage.arena.audio import AudioConfig
    from encore.stage.arena.entries import FULL_CHUNKS
    from encore.stage.arena.store import ArenaStore

    audio = AudioConfig(codec=args.codec, sample_rate=args.sample_rate, workers=args.workers)
    store = ArenaStore(args.db, create=True)
    bar = tqdm(unit="chunk", desc=f"rendering {args.name}", dynamic_ncols=True, disable=None)
    with bar:
        added = add_entry(store, args.name, args.entry, args.allow_short, audio, on_chunks=bar.update,
                          on_split=lambda count: setattr(bar, "total", count))
    for warning in added.warnings:
        print(f"note: the grader would refuse this entry: {warning}")
    full = "" if added.chunks == FULL_CHUNKS else f" (a full hour has {FULL_CHUNKS})"
    print(f"added {added.name}: {added.chunks} chunks of {added.chunk_s:.1f} s{full} from {added.length_s:.1f} s "
          f"of music, {audio.codec} at {audio.sample_rate} Hz, in {store.chunk_root / added.name}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Serve the listening page until Ctrl-C."""
    import uvicorn

    from encore.stage.arena.store import ArenaStore
    from encore.stage.arena.web import ServeConfig, build_app

    store = ArenaStore(args.db)
    entries = store.entries()
    app = build_app(store, ServeConfig(min_play_s=args.min_play, show_leaderboard=not args.no_leaderboard, seed=args.seed))
    shown = _lan_address() if args.host in ("0.0.0.0", "::") else args.host
    print(f"arena {store.path}: {len(entries)} entries; open http://{shown}:{args.port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    """Replay the chosen votes and print (and save) the leaderboard."""
    from encore.stage.arena.leaderboard import format_table, plot_png, write_csv
    from encore.stage.arena.ratings import load_book
    from encore.stage.arena.store import ArenaStore

    store = ArenaStore(args.db)
    book = load_book(store, args.voters, args.judge)
    standings = book.standings(store.entries())
    which = args.voters + ("" if args.judge is None else f", judge {args.judge}")
    print(f"{book.votes} votes ({which}); judges in the database: {', '.join(store.judges()) or 'none'}")
    print(format_table(standings))
    if args.csv is not None:
        print(f"wrote {write_csv(args.csv, standings)}")
    if args.png is not None:
        print(f"wrote {plot_png(args.png, standings, f'arena leaderboard ({which}, {book.votes} votes)')}")
    return 0


def run_judge(args: argparse.Namespace) -> int:
    """Let the reward vote `--votes` times, then print its leaderboard and its agreement with humans."""
    import random

    from tqdm import tqdm

    from encore.models.errors import EncoreError
    from encore.stage.arena.judge import ChunkScorer, agreement, judge_votes, pair_tally
    from encore.stage.arena.leaderboard import format_table
    from encore.stage.arena.store import ArenaStore

    if args.votes < 1:
        raise EncoreError("--votes must be at least 1")
    store = ArenaStore(args.db)
    with ChunkScorer(store, _reward(args)) as scorer:
        name = args.judge_name or scorer.reward.name
        with tqdm(total=args.votes, unit="vote", desc=f"judge {name}", dynamic_ncols=True, disable=None) as bar:
            book = judge_votes(store, scorer, args.votes, random.Random(args.seed), args.draw_margin,
                               progress=lambda vote: bar.update(), judge=name)
        print(f"{args.votes} votes by {name} ({book.votes} in all by this judge)")
        print(format_table(book.standings(store.entries())))
        print("\n".join(tally.line() for tally in pair_tally(store, name)))
        if store.votes("human"):
            print(agreement(store, scorer, args.draw_margin).line())
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    """Print how the reward answers the human votes' pairs."""
    from encore.stage.arena.judge import ChunkScorer, agreement
    from encore.stage.arena.store import ArenaStore

    store = ArenaStore(args.db)
    with ChunkScorer(store, _reward(args)) as scorer:
        print(agreement(store, scorer, args.draw_margin).line())
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the votes as JSON lines."""
    from encore.stage.arena.export import export_pairs
    from encore.stage.arena.store import ArenaStore

    count = export_pairs(ArenaStore(args.db), args.out, args.voters, args.judge)
    print(f"wrote {args.out}: {count} pairs ({args.voters} votes)")
    return 0


def _reward(args: argparse.Namespace):
    from encore.training.grpo.rewards import build_reward

    return build_reward(args.reward, critic=args.critic)


def _lan_address() -> str:
    """This machine's address on its local network (no packet is sent), or 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
