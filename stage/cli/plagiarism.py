"""`encore plagiarism`: the challenge's copy check, and `encore plagiarism-calibrate`, its calibration.

    encore plagiarism ENTRY.mid --against DIR [DIR ...] [--threshold X] [--stride SECONDS] [--transpose]
    encore plagiarism-calibrate [--data-root DIR] [--floor 0.998] [--copies 200] [--max-queries N]

The check exits 1 when any chunk is flagged, 0 when the entry is clean, 2 with one line for bad input.
See docs/challenge.md ("The copy check").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore plagiarism` and `encore plagiarism-calibrate`."""
    parser = subparsers.add_parser("plagiarism", help="check an entry for passages copied from MIDI folders (NDTW)")
    parser.add_argument("entry", type=Path, help="entry MIDI file (read at 120 bpm, as the grader does)")
    parser.add_argument("--against", type=Path, nargs="+", required=True, metavar="DIR",
                        help="folders (or files) of reference MIDI, searched recursively")
    parser.add_argument("--threshold", type=float, default=None,
                        help="NDTW at or above which a pair is flagged (default: the calibrated one of the mode)")
    parser.add_argument("--stride", type=float, default=5.0, help="seconds between entry chunk starts (default 5)")
    parser.add_argument("--transpose", action="store_true",
                        help="compare pitch contours (pitch minus the chunk's median): catches transposed copies")
    parser.add_argument("--band", type=int, default=None, help="DTW band radius in 16th steps (default 2)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="corpus cache (default .cache/plagiarism)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_check)

    calibrate = subparsers.add_parser("plagiarism-calibrate",
                                      help="re-measure the copy check's thresholds on held-out vs training pieces")
    calibrate.add_argument("--data-root", type=Path, default=None, help="default: $ENCORE_DATA or ../shared/data")
    calibrate.add_argument("--floor", type=float, default=None, help="lowest best-match NDTW measured exactly")
    calibrate.add_argument("--copies", type=int, default=None, help="copied training chunks per kind")
    calibrate.add_argument("--max-queries", type=int, default=None, help="subsample the held-out chunks")
    calibrate.add_argument("--out-json", type=Path, default=None, help="default docs/plagiarism-calibration.json")
    calibrate.add_argument("--out-plot", type=Path, default=None, help="default docs/plagiarism-calibration.png")
    calibrate.set_defaults(handler=run_calibrate)


def run_check(args: argparse.Namespace) -> int:
    """Check one entry, print the report, exit 1 when anything is flagged."""
    from dataclasses import asdict

    from encore.training.challenge.check import check_entry
    from encore.training.challenge.chunks import ChunkConfig

    config = ChunkConfig() if args.band is None else ChunkConfig(band_steps=args.band)
    report = check_entry(args.entry, args.against, threshold=args.threshold, stride_s=args.stride,
                         transpose=args.transpose, config=config, cache_root=args.cache_dir, progress=not args.quiet)
    for line in report.lines():
        print(line)
    if args.json is not None:
        payload = {key: value for key, value in asdict(report).items() if key not in ("flags", "stats")}
        payload["flags"] = [asdict(flag) for flag in report.flags]
        payload["stats"] = asdict(report.stats)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if report.flags else 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Run the calibration and print the chosen thresholds."""
    from encore.models.errors import EncoreError
    from encore.training.challenge.calibration import CalibrationConfig, run_calibration

    config = CalibrationConfig()
    for name, value in (("data_root", args.data_root), ("floor", args.floor), ("copies", args.copies),
                        ("max_queries", args.max_queries), ("out_json", args.out_json), ("out_plot", args.out_plot)):
        if value is not None:
            setattr(config, name, value)
    try:
        result = run_calibration(config)
    except FileNotFoundError as error:
        raise EncoreError(str(error)) from None
    for mode, entry in result["modes"].items():
        print(f"{mode}: threshold {entry['threshold']} ({entry['held_out_flags']} of "
              f"{result['corpus']['held_out_chunks_compared']} held-out chunks flagged; copies caught: "
              + ", ".join(f"{name} {c['caught']}/{c['count']}" for name, c in entry["copies"].items()) + ")")
    print(f"wrote {config.out_json} and {config.out_plot}")
    return 0
