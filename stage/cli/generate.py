"""`encore generate`: continue a seed MIDI file with the piano model and write the result."""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.stage.cli.sampling_options import add_sampling_arguments, sampling_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore generate`."""
    parser = subparsers.add_parser("generate", help="continue a seed MIDI file with the piano model")
    parser.add_argument("--seed", type=Path, required=True, help="seed MIDI file (any tracks; drums are ignored)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the continuation in seconds")
    parser.add_argument("--out", type=Path, required=True, help="output MIDI file (seed followed by continuation)")
    parser.add_argument("--checkpoint", default=None, help="a checkpoint folder or a shipped name (default: piano-default)")
    parser.add_argument("--bpm", type=float, default=None, help="output tempo (default: the seed's first tempo)")
    add_sampling_arguments(parser)
    parser.add_argument("--random-seed", type=int, default=None, help="sampling seed, for reproducible output")
    parser.add_argument("--continuation-only", action="store_true", help="write only the generated notes")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--int8", action="store_true", help="int8 weights on the CPU (faster; see BENCHMARKS.md)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (one is fastest for a single stream on a small CPU)")
    parser.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Load, prime, sample until the wanted length, write."""
    import torch

    from encore.models.errors import EncoreError
    from encore.models.midi_io import read_seed
    from encore.models.midi_writer import write_notes
    from encore.models.piano.checkpoint import load_piano
    from encore.models.piano.stream import PianoStream

    if args.seconds <= 0:
        raise EncoreError("--seconds must be positive")
    sampling = sampling_from_args(args)
    seed_score = read_seed(args.seed)
    bpm = args.bpm or (seed_score.tempos[0].qpm if len(seed_score.tempos) else 120.0)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(max(1, args.threads))
    stream = PianoStream(load_piano(args.checkpoint, device=device, int8=args.int8), sampling, seed=args.random_seed)
    seed_notes = stream.prime_midi(args.seed)
    start = stream.position_beats
    continuation = stream.generate_until(start + args.seconds * bpm / 60.0)
    notes = continuation if args.continuation_only else seed_notes + continuation
    if args.continuation_only:
        notes = [type(n)(n.onset_beats - start, n.pitch, n.velocity, n.duration_beats) for n in notes]
    write_notes(args.out, notes, bpm=bpm)
    print(f"wrote {args.out}: {len(continuation)} new notes over {args.seconds:g} s at {bpm:.1f} bpm "
          f"({stream.tokens_generated} tokens)")
    return 0
