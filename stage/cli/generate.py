"""`encore generate`: continue a seed MIDI file with the piano model and write the result."""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.models.sampling_config import SamplingConfig
from encore.stage.cli.guard_options import add_guard_arguments, guard_from_args
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
    add_guard_arguments(parser, "on at the index's own threshold; not for --challenge")
    challenge = parser.add_argument_group("challenge entries (see docs/challenge.md)")
    challenge.add_argument("--challenge", action="store_true",
                           help="write a challenge entry: exactly --seconds long (the grader wants 3600), timed for "
                                "120 bpm with no tempo events, made in batched segments with silence and loop guards "
                                "(int8 on the CPU); a report (.report.json, .report.png) is written beside it")
    challenge.add_argument("--batch-size", type=int, default=None,
                           help="streams sampled together for --challenge (default: 8)")
    challenge.add_argument("--include-seed", action="store_true", help="start the --challenge entry with the seed")
    challenge.add_argument("--key-bias", type=float, default=None,
                           help="logit penalty on pitches outside the seed key's scale for --challenge (default: 2; 0: off)")
    parser.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Load, prime, sample until the wanted length under the originality guard, write."""
    import torch

    from encore.engine.guarded_generation import generate_guarded
    from encore.engine.voices.originality import open_guard
    from encore.models.errors import EncoreError
    from encore.models.midi_io import read_seed
    from encore.models.midi_writer import write_notes
    from encore.models.piano.checkpoint import load_piano
    from encore.models.piano.stream import PianoStream
    from encore.models.shipped import resolve_checkpoint

    if args.seconds <= 0:
        raise EncoreError("--seconds must be positive")
    sampling = sampling_from_args(args)
    guard_settings = guard_from_args(args)
    seed_score = read_seed(args.seed)
    bpm = args.bpm or (seed_score.tempos[0].qpm if len(seed_score.tempos) else 120.0)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(max(1, args.threads))
    if args.challenge:
        if args.guard_threshold is not None:
            raise EncoreError("--guard-threshold: a --challenge entry is not guarded (docs/guard.md)")
        return run_challenge(args, sampling, device)
    folder = resolve_checkpoint(args.checkpoint, "piano")
    guard = open_guard(folder, guard_settings)
    stream = PianoStream(load_piano(folder, device=device, int8=args.int8), sampling, seed=args.random_seed)
    seed_notes = stream.prime_midi(args.seed)
    start = stream.position_beats
    continuation = generate_guarded(stream, start + args.seconds * bpm / 60.0, guard)
    notes = continuation if args.continuation_only else seed_notes + continuation
    if args.continuation_only:
        notes = [type(n)(n.onset_beats - start, n.pitch, n.velocity, n.duration_beats) for n in notes]
    write_notes(args.out, notes, bpm=bpm)
    print(f"wrote {args.out}: {len(continuation)} new notes over {args.seconds:g} s at {bpm:.1f} bpm "
          f"({stream.tokens_generated} tokens)")
    print(guard.state().summary())
    return 0


def run_challenge(args: argparse.Namespace, sampling: SamplingConfig, device: str) -> int:
    """Make a challenge entry with a progress bar, write it and its report, and check the grader's rules."""
    from tqdm import tqdm

    from encore.models.errors import EncoreError
    from encore.models.piano.checkpoint import load_piano
    from encore.training.challenge.entry import DEFAULT_BATCH, EntryConfig, make_entry, write_entry
    from encore.training.challenge.report import entry_report, save_report, seed_timed_notes
    from encore.training.challenge.rules import TARGET_S, check_entry

    try:
        config = EntryConfig(seconds=args.seconds, batch_size=args.batch_size or DEFAULT_BATCH,
                             include_seed=args.include_seed,
                             **({} if args.key_bias is None else {"key_bias": args.key_bias}))
    except ValueError as error:
        raise EncoreError(f"--batch-size/--key-bias: {error}") from None
    bundle = load_piano(args.checkpoint, device=device, int8=args.int8 or device == "cpu")
    with tqdm(total=round(args.seconds), unit="s", desc="music", dynamic_ncols=True) as bar:
        def progress(done_s: float, wanted_s: float) -> None:
            bar.n = round(done_s * args.seconds / max(wanted_s, 1e-9))
            bar.refresh()

        entry = make_entry(bundle, args.seed, config, sampling, args.random_seed, progress)
    write_entry(args.out, entry)
    report = entry_report(entry.notes, entry.seconds, seed_notes=seed_timed_notes(args.seed))
    save_report(report, args.out.with_suffix(".report.json"), args.out.with_suffix(".report.png"))
    print(f"wrote {args.out}: {len(entry.notes)} notes, {entry.seconds:g} s in {len(entry.segments)} segments "
          f"from {entry.batch_size} streams ({entry.reprimes or 'no'} guard re-primes); {entry.tokens} tokens in "
          f"{entry.wall_s:.1f} s ({entry.tokens_per_s:.0f} tokens/s)")
    print(report.summary())
    failed = [result for result in check_entry(args.out, target_s=args.seconds) if not result.passed]
    for result in failed:
        print(result.line())
    if args.seconds != TARGET_S:
        print(f"(checked against its own length: the grader wants {TARGET_S:g} s)")
    return 1 if failed else 0
