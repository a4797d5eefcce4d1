"""`encore guard ...`: the originality guard's fingerprint index, its measurement and a recording's report.

    encore guard build --cache DIR [--checkpoint piano-default] [--out FILE]
    encore guard measure --cache DIR [--index FILE] [--generated MIDI ...] [--copies 200]
    encore guard report RECORDING.mid [--data-root DIR] [--stride 5] [--index FILE]

See docs/guard.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.training.paths import default_data_root


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `guard` command group."""
    group = subparsers.add_parser("guard", help="the originality guard: fingerprint index, measurement, report")
    sub = group.add_subparsers(dest="guard_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="fingerprint a prepared cache's train split, beside a checkpoint")
    build.add_argument("--cache", type=Path, required=True,
                       help="prepared piano cache the checkpoint was trained on (.cache/piano/...)")
    build.add_argument("--checkpoint", default=None, help="checkpoint name or folder (default: piano-default)")
    build.add_argument("--out", type=Path, default=None, help="index file (default: fingerprints.npz in the checkpoint)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(handler=run_build)

    measure = sub.add_parser("measure", help="the guard's false positives and negatives against the exact check")
    measure.add_argument("--cache", type=Path, required=True, help="the prepared cache the index was built from")
    measure.add_argument("--index", type=Path, default=None, help="index file (default: piano-default's)")
    measure.add_argument("--generated", type=Path, nargs="*", default=(), metavar="PATH",
                         help="MIDI files the model wrote from training-split seeds, or folders of them (a set each)")
    measure.add_argument("--copies", type=int, default=200, help="planted copies of each kind")
    measure.add_argument("--held-out-chunks", type=int, default=1000, help="chunks of held-out pieces")
    measure.add_argument("--seed", type=int, default=0, help="random seed of the draws")
    measure.add_argument("--cache-dir", type=Path, default=None, help="corpus cache (default .cache/plagiarism)")
    measure.set_defaults(handler=run_measure)

    report = sub.add_parser("report", help="which passages of a recording come close to the training data (NDTW)")
    report.add_argument("recording", type=Path, help="MIDI file (read in seconds through its tempo map)")
    report.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="the shared data (default: $ENCORE_DATA or ../shared/data)")
    report.add_argument("--sources", type=lambda text: tuple(text.split(",")), default=None,
                        help="corpora the model was trained on, comma-separated (default: pop909,piano_midi_de)")
    report.add_argument("--stride", type=float, default=5.0, help="seconds between chunk starts (default 5)")
    report.add_argument("--index", type=Path, default=None,
                        help="also say what the guard's index finds (default: piano-default's, if present)")
    report.add_argument("--cache-dir", type=Path, default=None, help="corpus cache (default .cache/plagiarism)")
    report.add_argument("--quiet", action="store_true", help="no progress bars")
    report.set_defaults(handler=run_report)


def _index_path(index: Path | None, checkpoint: str | None = None) -> Path:
    from encore.models.originality.index import INDEX_FILE
    from encore.models.shipped import resolve_checkpoint

    return index if index is not None else resolve_checkpoint(checkpoint, "piano") / INDEX_FILE


def run_build(args: argparse.Namespace) -> int:
    """Build the index, write it, and say how big it is and how fast it loads."""
    import time

    from encore.models.originality.index import FingerprintIndex
    from encore.training.guard.build import build_index

    out = _index_path(args.out, args.checkpoint)
    index, stats = build_index(args.cache, progress=not args.quiet)
    index.save(out)
    started = time.perf_counter()
    FingerprintIndex.load(out)
    load_s = time.perf_counter() - started
    print(f"wrote {out}: {stats.files} files, {stats.pieces} pieces, {stats.top_line_notes} top-line notes of "
          f"{stats.notes}, {stats.keys} keys in {stats.seconds:.1f} s; {out.stat().st_size} bytes on disk, "
          f"{index.nbytes} bytes in memory, loads in {load_s * 1000:.0f} ms")
    return 0


def run_measure(args: argparse.Namespace) -> int:
    """Print the table of docs/guard.md."""
    import numpy as np

    from encore.training.guard.measure import TABLE_HEAD, MeasureConfig, measure

    config = MeasureConfig(args.cache, _index_path(args.index), tuple(args.generated), args.copies,
                           held_out_chunks=args.held_out_chunks, seed=args.seed, corpus_cache=args.cache_dir)
    results, costs = measure(config)
    print(TABLE_HEAD)
    for result in results:
        print(result.row())
    if len(costs):
        print(f"\nguard: {len(costs)} checks of one 5 s chunk, median {np.median(costs) * 1e6:.0f} us, "
              f"p99 {np.percentile(costs, 99) * 1e6:.0f} us")
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Print the passages that came close; exit 1 when one is flagged."""
    from encore.training.guard.report import report_recording
    from encore.training.piano.sources import DEFAULT_SOURCES

    index = _index_path(args.index)
    report = report_recording(args.recording, args.data_root, args.sources or DEFAULT_SOURCES, args.stride,
                              index if index.is_file() else None, progress=not args.quiet,
                              corpus_cache=args.cache_dir)
    for line in report.lines():
        print(line)
    return 1 if report.flagged else 0
