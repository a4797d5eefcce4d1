"""`encore validate`: check a challenge entry against every grader rule, as the grader reads it."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore validate`."""
    parser = subparsers.add_parser(
        "validate", help="check a challenge entry MIDI file against the grader's rules",
        description="Exit 0 when every rule holds, 1 when one fails (each failure explained in one line), "
                    "2 when the file cannot be read.")
    parser.add_argument("entry", type=Path, help="the entry MIDI file")
    parser.add_argument("--seconds", type=float, default=None, help="wanted length (default: the grader's 3600)")
    parser.add_argument("--tolerance", type=float, default=None, help="allowed difference in seconds (default: 10)")
    parser.add_argument("--quiet", action="store_true", help="print only the failures")
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Print each rule's result; 0 when all hold, 1 otherwise (an unreadable file raises EntryFileError: 2)."""
    from encore.training.challenge.rules import TARGET_S, TOLERANCE_S, check_entry

    results = check_entry(args.entry, args.seconds if args.seconds is not None else TARGET_S,
                          args.tolerance if args.tolerance is not None else TOLERANCE_S)
    failed = [result for result in results if not result.passed]
    for result in results:
        if not args.quiet or not result.passed:
            print(result.line())
    print(f"{args.entry}: " + ("passes every grader rule" if not failed
                                else f"{len(failed)} of {len(results)} rules fail"))
    return 1 if failed else 0
