"""`encore grpo-compare`: what GRPO changed, on samples of the base and tuned models (docs/grpo.md).

    encore grpo-compare generate --model NAME_OR_PATH --count 1000 --out FILE.npz [--batch 250] [--seed S]
                                 [--prompts procedural|split [--split validation] [--prompt-tokens 64]]
    encore grpo-compare real --out FILE.npz [--count 1000] [--split validation] [--seed 1]
                             [--prompts split [--prompt-tokens 64]]   (split: what followed generate's prompts)
    encore grpo-compare report --samples base=FILE.npz --samples tuned=FILE.npz
                               [--samples over-optimised=FILE.npz] [--reference real] --out-dir DIR

`report` compares every model with the first one given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encore.stage.cli.data import add_corpus_arguments, prepared_piano_cache


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore grpo-compare generate`, `real` and `report`."""
    parser = subparsers.add_parser("grpo-compare",
                                   help="sample models and compare their features and diversity (GRPO)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    generate = actions.add_parser("generate", help="sample completions of procedural or split prompts into an .npz")
    add_corpus_arguments(generate)
    _add_prompt_arguments(generate)
    generate.add_argument("--model", default="default",
                          help="checkpoint folder or shipped name (default: default)")
    generate.add_argument("--count", type=int, default=1000, help="completions to sample (default 1000)")
    generate.add_argument("--out", type=Path, required=True, help="the .npz to write")
    generate.add_argument("--batch", type=int, default=250, help="completions sampled together (default 250)")
    generate.add_argument("--seed", type=int, default=0,
                          help="seed of the prompts and the sampler (default 0; one seed, the same prompts)")
    generate.add_argument("--new-tokens", type=int, default=256, help="tokens per completion (default 256)")
    generate.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    generate.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    generate.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.set_defaults(handler=run_generate)

    real = actions.add_parser("real", help="stretches of real piano from a prepared split, as a sample file")
    add_corpus_arguments(real)
    real.add_argument("--out", type=Path, required=True, help="the .npz to write")
    real.add_argument("--count", type=int, default=1000, help="stretches to take (default 1000)")
    real.add_argument("--new-tokens", type=int, default=256, help="tokens per stretch (default 256)")
    real.add_argument("--split", default="validation", help="train, validation or test (default validation)")
    real.add_argument("--seed", type=int, default=1,
                      help="seed of the bar choice (default 1; with --prompts split, generate's --seed)")
    real.add_argument("--prompts", choices=("procedural", "split"), default="procedural",
                      help="procedural: stretches behind procedural-style prompts; split: what really followed the "
                           "split prompts generate draws with the same --seed, --count and --split")
    real.add_argument("--prompt-tokens", type=int, default=64, help="length of a split prompt (default 64)")
    real.set_defaults(handler=run_real)

    report = actions.add_parser("report", help="features, diversity, table and JSON from sample files")
    report.add_argument("--samples", action="append", required=True, metavar="LABEL=FILE.npz",
                        help="a model's samples; repeat, the first is the base the others are compared with")
    report.add_argument("--out-dir", type=Path, required=True,
                        help="where features.png, diversity.png, features.md and compare.json go")
    report.add_argument("--reference", default=None, metavar="LABEL",
                        help="a --samples label (real piano, say): each other model's distance to it per feature")
    report.set_defaults(handler=run_report)


def _add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompts", choices=("procedural", "split"), default="procedural",
                        help="procedural prompts, or prompts cut from a prepared split (default procedural)")
    parser.add_argument("--split", default="validation", help="the split of split prompts (default validation)")
    parser.add_argument("--prompt-tokens", type=int, default=64, help="length of a split prompt (default 64)")


def run_generate(args: argparse.Namespace) -> int:
    """Sample the model and save the .npz."""
    import torch

    from encore.models.piano.checkpoint import load_piano
    from encore.training.grpo.samples import GenerationConfig, generate_samples

    config = GenerationConfig(count=args.count, batch=args.batch, new_tokens=args.new_tokens,
                              temperature=args.temperature, seed=args.seed, prompts=args.prompts,
                              prompt_tokens=args.prompt_tokens, split=args.split)
    cache = prepared_piano_cache(args, required=True) if config.prompts == "split" else None
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    bundle = load_piano(args.model, device=device)
    path = generate_samples(bundle, args.out, config, model_name=str(args.model), progress=not args.quiet,
                            cache_dir=cache)
    print(f"wrote {path}: {config.count} completions of {config.new_tokens} tokens of {config.prompts} prompts "
          f"from {args.model} on {device}")
    return 0


def run_real(args: argparse.Namespace) -> int:
    """Cut the real stretches and save the .npz."""
    from encore.models.piano.checkpoint import load_piano
    from encore.training.grpo.samples import GenerationConfig, real_continuations, real_samples

    cache = prepared_piano_cache(args, required=True)
    tokenizer = load_piano(device="cpu").tokenizer
    if args.prompts == "split":
        config = GenerationConfig(count=args.count, new_tokens=args.new_tokens, seed=args.seed, prompts="split",
                                  prompt_tokens=args.prompt_tokens, split=args.split)
        path = real_continuations(tokenizer, cache, args.out, config)
    else:
        path = real_samples(tokenizer, cache, args.out, args.count, args.new_tokens, args.seed, args.split)
    print(f"wrote {path}: {args.count} stretches of {args.new_tokens} tokens from the {args.split} split")
    return 0


def parse_samples(specs: list[str]) -> list[tuple[str, Path]]:
    """`LABEL=FILE` pairs, labels unique.

    Raises:
        EncoreError: a spec without a label or a file, or a label given twice.
    """
    from encore.models.errors import EncoreError

    pairs = []
    for spec in specs:
        label, _, file = spec.partition("=")
        if not label.strip() or not file.strip():
            raise EncoreError(f"--samples {spec!r}: expected LABEL=FILE.npz")
        pairs.append((label.strip(), Path(file.strip())))
    labels = [label for label, _ in pairs]
    if len(set(labels)) != len(labels):
        raise EncoreError(f"--samples: each label once (got {', '.join(labels)})")
    return pairs


def run_report(args: argparse.Namespace) -> int:
    """Measure the sample files and write the report."""
    from encore.training.grpo.compare import write_report
    from encore.training.grpo.samples import load_samples

    sets = [load_samples(label, path) for label, path in parse_samples(args.samples)]
    paths = write_report(sets, args.out_dir, args.reference)
    print(f"wrote {', '.join(str(path) for path in paths.values())}")
    print(paths["table"].read_text(), end="")
    return 0
