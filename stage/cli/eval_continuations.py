"""`encore eval continuations`: 60-s continuations of held-out seeds and their musicality features
beside the real music's (training/piano/continuations.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from encore.training.paths import default_data_root
from encore.training.piano.sources import V2_SOURCES


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `encore eval continuations` to the `eval` group."""
    parser = sub.add_parser("continuations", help="continuations of held-out seeds: musicality features vs the real music")
    parser.add_argument("checkpoints", nargs="+", help="checkpoint names or folders (piano-default, v2, runs/x/export)")
    parser.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="folder holding the corpora (default: $ENCORE_DATA or ../shared/data)")
    parser.add_argument("--sources", type=lambda text: tuple(text.split(",")), default=V2_SOURCES,
                        help=f"comma-separated sources whose test pieces give the seeds (default: {','.join(V2_SOURCES)})")
    parser.add_argument("--per-source", type=int, default=6, help="seeds per source (default: 6)")
    parser.add_argument("--seed-bars", type=int, default=8, help="bars of each file that form its seed (default: 8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each continuation (default: 60)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default: 1.0)")
    parser.add_argument("--random-seed", type=int, default=0, help="sampling seed of the first continuation")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--out", type=Path, default=Path("out/continuations"),
                        help="folder for report.json and features.png (default: out/continuations)")
    parser.set_defaults(handler=run_eval_continuations)


def run_eval_continuations(args: argparse.Namespace) -> int:
    """Cut the seeds, continue each with every checkpoint, print the table, write JSON and PNG."""
    import torch
    from tqdm import tqdm

    from encore.models.errors import EncoreError
    from encore.models.piano.checkpoint import load_piano
    from encore.models.sampling_config import SamplingConfig
    from encore.models.shipped import resolve_checkpoint
    from encore.training.piano.continuations import (
        evaluate_continuations,
        held_out_seeds,
        save_plot,
        summary_table,
    )

    if args.per_source < 1 or args.seconds <= 0 or args.seed_bars < 1:
        raise EncoreError("--per-source and --seed-bars must be at least 1 and --seconds positive")
    torch.set_num_threads(max(1, args.threads))
    try:
        seeds = held_out_seeds(args.data_root, args.sources, args.per_source, args.seed_bars, args.seconds)
    except FileNotFoundError as error:
        raise EncoreError(str(error)) from None
    if not seeds:
        raise EncoreError(f"no test piece of {','.join(args.sources)} is long enough for a seed and {args.seconds:g} s")
    bundles = {name: load_piano(resolve_checkpoint(name, "piano")) for name in args.checkpoints}
    with tqdm(total=len(seeds) * len(bundles), desc="continuations", unit="seed") as bar:
        report = evaluate_continuations(bundles, seeds, args.seconds, SamplingConfig(temperature=args.temperature),
                                        args.random_seed, progress=lambda: bar.update(1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    save_plot(report, args.out / "features.png")
    print(summary_table(report))
    print(f"({len(seeds)} seeds; * = the model's median outside the real continuations' 10th-90th percentiles; "
          f"wrote {args.out / 'report.json'} and {args.out / 'features.png'})")
    return 0
