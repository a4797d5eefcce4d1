"""`encore guard ...`: the originality guard's fingerprint index.

    encore guard build --cache DIR [--checkpoint piano-default] [--out FILE]

See docs/guard.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `guard` command group."""
    group = subparsers.add_parser("guard", help="the originality guard: fingerprint index")
    sub = group.add_subparsers(dest="guard_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="fingerprint a prepared cache's train split, beside a checkpoint")
    build.add_argument("--cache", type=Path, required=True,
                       help="prepared piano cache the checkpoint was trained on (.cache/piano/...)")
    build.add_argument("--checkpoint", default=None, help="checkpoint name or folder (default: piano-default)")
    build.add_argument("--out", type=Path, default=None, help="index file (default: fingerprints.npz in the checkpoint)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(handler=run_build)


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
