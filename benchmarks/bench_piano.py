"""Piano model speed on CPU, with 1 and with 2 torch threads, side by side with Hugging Face;
held-out loss of fp32 and int8 weights on the test split.

`run()` returns rows (name, median, unit, ratio, note) for the benchmark runner. Every timing is the
median of repeated runs after warm-up, and its note gives the count n and the spread (interquartile
range from 8 samples on, min-max below); every ratio compares numbers taken in this same run, like
for like:

- `decode cached, B=1`: ms/token of `decode_step` with exactly `decode_context` tokens in attention
  (the cache is primed with `decode_context - 1` tokens and rewound to them, untimed, before every
  step); ratio to the weight-read floor (the fp32 weights read once at the measured bandwidth).
- `decode cached, B=8|32`: tokens/s at the same context; ratio to B=1 tokens/s (what batching buys).
- `decode recompute, B=1|8|32`: no cache, one full forward over the same `decode_context` tokens per
  token; ratio: the cache's speed-up (cached tokens/s over recompute tokens/s, same context).
- `prefill 512 tokens, B=1`: tokens/s into a reset cache; ratio to cached B=1 decode tokens/s.
- `memory read|copy bandwidth` (GB/s) and `fp32 weight-read floor, B=1` (ms).
- `generate hf|ours, B=1|8|32`: tokens/s of `Phi3ForCausalLM.generate()` (greedy, 128-token prompt,
  32 new tokens) and of our prefill + decode loop on the same weights and prompt, run alternately
  (n pairs). Both include allocating their KV cache: HF's `generate()` builds its cache inside the
  call, and ours allocates its static cache inside the timed call. Ours has our speed-up as ratio.
- `stream step, B=1`: ms/token of `PianoStream.step()` (model, grammar, sampler, decoder), its cache
  rewound before every step like the bare `decode_step` it is compared with (same context).
- `decode floor, <model>, N in attention, B=1, 1 thread` (issue 26): ms/token of `decode_step` at
  256, 1,024 and 2,048 tokens in attention for the checkpoint (fp32, int8) and a random-weight
  2,048-context model of the same shape (fp32, int8); ratio to the floor: weights + the KV cache read at
  that context, over the measured read bandwidth (targets 1.3x fp32, 2.0x int8).
- `int8 decode, B=1`: ms/token with dynamically quantized int8 linears, same context; ratio to fp32.
- `held-out loss fp32|int8`: mean next-token loss on a fixed, seeded sample of windows of the test
  split (one window per piece, from the checkpoint's corpora at the data root, split by
  `encore.training.piano.sources.split_of` and prepared by `encore.training.piano.prep.prepare_file`
  as for training). Without the data the rows say `skipped: no data at <path>`.

The shipped checkpoint is used when present, else random weights of the default shape (same cost;
the rows say which). Run alone with `python -m benchmarks.bench_piano [--quick]`.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmarks.held_out import HeldOut, held_out_windows, window_losses
from benchmarks.hf_twin import greedy_ours, hf_twin
from benchmarks.timing import Spread, sample_seconds
from encore.models.piano.checkpoint import PianoBundle, int8_blocks, load_piano
from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.kv_cache import KVCache
from encore.models.piano.phi3 import Phi3, Phi3Config
from encore.models.piano.stream import PianoStream, seed_token_ids
from encore.models.shipped import shipped_folder

REPO = Path(__file__).resolve().parents[1]
#: The stream step is primed from this fixture (its speed, not its loss, is measured).
PRIME_FIXTURE = REPO / "tests" / "fixtures" / "piano_midi_de" / "chpn-p7.mid"
#: B=1 decoding should come within this factor of the weight-read floor.
FLOOR_TARGET = 1.3


@dataclass(frozen=True)
class Plan:
    """How much to measure: sizes of the runs and how often each is repeated."""

    warmup: int = 5
    repeats: int = 40
    heavy_warmup: int = 1
    heavy_repeats: int = 5
    decode_context: int = 256
    context: int = 512
    prefill_tokens: int = 512
    prompt_tokens: int = 128
    new_tokens: int = 32
    batches: tuple[int, ...] = (1, 8, 32)
    threads: tuple[int, ...] = (1, 2)
    loss_window: int = 256
    loss_windows: int = 32
    bandwidth_mib: int = 256


FULL = Plan()
QUICK = Plan(warmup=1, repeats=3, heavy_warmup=1, heavy_repeats=2, decode_context=32, context=64,
             prefill_tokens=32, prompt_tokens=8, new_tokens=4, loss_window=32, loss_windows=2, bandwidth_mib=16)


def row(name: str, median: float | None, unit: str, ratio: float | None = None, note: str = "") -> dict:
    """One benchmark row, numbers rounded to 4 significant digits."""
    return {"name": name, "median": _sig(median), "unit": unit, "ratio": _sig(ratio), "note": note}


def _sig(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def load_bundle() -> tuple[PianoBundle, str]:
    """The shipped checkpoint, else random weights of the default shape; and which it is."""
    if (shipped_folder("piano", "default") / "model.safetensors").is_file():
        return load_piano(), "piano-default checkpoint"
    return PianoBundle.random("default"), "random weights, default shape (no piano-default checkpoint)"


def weight_bytes(model: nn.Module, int8_layers: bool = False) -> int:
    """Bytes of weights one decode step reads: every parameter but the embedding table (one row of
    it is read), with the blocks' linears at one byte per weight when `int8_layers`."""
    tied = model.config.tie_word_embeddings
    total = 0
    for name, param in model.named_parameters():
        if name.startswith("model.embed_tokens") and not tied:
            continue
        int8 = int8_layers and name.startswith("model.layers") and name.endswith("_proj.weight")
        total += param.numel() * (1 if int8 else param.element_size())
    return total


def bandwidth_gbs(mib: int, repeats: int) -> tuple[Spread, Spread]:
    """(read, copy) memory bandwidth in GB/s with the current torch threads (copy counts the bytes
    read plus the bytes written, as STREAM does)."""
    source = torch.ones(mib * 2**20 // 4)
    target = torch.empty_like(source)
    size = source.numel() * 4
    read = sample_seconds(source.sum, 2, repeats)
    copied = sample_seconds(lambda: target.copy_(source), 2, repeats)
    return read.inverted(size / 1e9), copied.inverted(2 * size / 1e9)


def _rewind(cache: KVCache, length: int) -> None:
    """Forget the cache's tokens after the first `length` (so every timed step sees one context)."""
    cache.length = length


def cached_step_seconds(model: nn.Module, batch: int, plan: Plan, fill: int | None = None) -> Spread:
    """Seconds of one `decode_step` at `batch` attending to `fill + 1` tokens (default
    `plan.decode_context`): the cache is primed with `fill` tokens and rewound to them before each step."""
    fill = plan.decode_context - 1 if fill is None else fill
    cache = model.setup_cache(batch, plan.context)
    vocab = model.config.vocab_size
    prefill(model, torch.randint(0, vocab, (batch, fill)), cache)
    tokens = torch.randint(0, vocab, (batch,))
    return sample_seconds(lambda: decode_step(model, tokens, cache), plan.warmup, plan.repeats,
                          setup=lambda: _rewind(cache, fill))


def recompute_step_seconds(model: Phi3, batch: int, plan: Plan) -> Spread:
    """Seconds of one token without a cache: a full forward over `plan.decode_context` tokens."""
    tokens = torch.randint(0, model.config.vocab_size, (batch, plan.decode_context))
    with torch.inference_mode():
        return sample_seconds(lambda: model(tokens)[:, -1], plan.heavy_warmup, plan.heavy_repeats)


def prefill_seconds(model: Phi3, plan: Plan) -> Spread:
    """Seconds to prefill `plan.prefill_tokens` tokens at B=1 into a reset cache."""
    cache = model.setup_cache(1, plan.prefill_tokens + 64)
    tokens = torch.randint(0, model.config.vocab_size, (1, plan.prefill_tokens))
    return sample_seconds(lambda: prefill(model, tokens, cache), plan.heavy_warmup, plan.heavy_repeats,
                          setup=cache.reset)


def _alternate(first: Callable[[], object], second: Callable[[], object], warmup: int, repeats: int) -> tuple[Spread, Spread]:
    """Time two calls in alternation (which goes first alternates too), so that a change in the
    machine's load during the run falls on both alike."""
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for index in range(repeats):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            call = first if which == 0 else second
            start = time.perf_counter()
            call()
            times[which].append(time.perf_counter() - start)
    return Spread.of(times[0]), Spread.of(times[1])


def generate_rows(model: Phi3, twin: nn.Module | None, batch: int, plan: Plan, label: str) -> list[dict]:
    """Tokens/s of HF `generate()` and of our loop on the same prompt, greedy, both allocating their cache."""
    prompt = torch.randint(3, model.config.vocab_size, (batch, plan.prompt_tokens))
    made = batch * plan.new_tokens
    length = plan.prompt_tokens + plan.new_tokens + 8

    def ours() -> torch.Tensor:
        return greedy_ours(model, prompt, plan.new_tokens, model.setup_cache(batch, length))

    shape = f"B={batch}, {label}"
    what = f"{plan.prompt_tokens}-token prompt + {plan.new_tokens} new tokens, greedy"
    if twin is None:
        ours_s = sample_seconds(ours, plan.heavy_warmup, plan.heavy_repeats)
        return [row(f"generate ours, {shape}", made / ours_s.median, "tokens/s",
                    note=f"{what}; {ours_s.inverted(made).describe('tokens/s')}; HF skipped: no transformers")]
    mask = torch.ones_like(prompt)

    def hf_generate() -> torch.Tensor:
        with torch.inference_mode():
            return twin.generate(prompt, attention_mask=mask, max_new_tokens=plan.new_tokens,
                                 do_sample=False, pad_token_id=0)

    hf_s, ours_s = _alternate(hf_generate, ours, plan.heavy_warmup, plan.heavy_repeats)
    pairs = Spread.of([h / o for h, o in zip(hf_s.samples, ours_s.samples, strict=True)])
    agree = torch.equal(hf_generate()[:, plan.prompt_tokens:], ours())
    both = "cache allocation included in both (HF's inside generate(), ours inside the timed call)"
    return [
        row(f"generate hf, {shape}", made / hf_s.median, "tokens/s",
            note=f"transformers Phi3ForCausalLM.generate(use_cache=True), "
                 f"{twin.config._attn_implementation} attention; {what}; {hf_s.inverted(made).describe('tokens/s')}"),
        row(f"generate ours, {shape}", made / ours_s.median, "tokens/s", hf_s.median / ours_s.median,
            note=f"ratio: our speed-up over HF (target > 1), per alternating pair {pairs.describe()}; "
                 f"{ours_s.inverted(made).describe('tokens/s')}; {both}; greedy tokens {'agree' if agree else 'DIFFER'}"),
    ]


def stream_step_rows(bundle: PianoBundle, prime: list[int], plan: Plan, label: str) -> list[dict]:
    """`PianoStream.step()` at B=1 against a bare `decode_step` at the same context (both rewound)."""
    stream = PianoStream(bundle, seed=0, max_prime_tokens=plan.decode_context - 2)
    stream.prime(prime)
    fill = stream.cache.length
    step = sample_seconds(stream.step, plan.warmup, plan.repeats, setup=lambda: _rewind(stream.cache, fill))
    bare = cached_step_seconds(bundle.model, 1, plan, fill=fill)
    return [row(f"stream step, B=1, {label}", step.median * 1e3, "ms/token", step.median / bare.median,
                note=f"PianoStream.step(): model + grammar + sampler + decoder; ratio to bare decode_step "
                     f"({bare.median * 1e3:.3g} ms) at the same context ({fill + 1} tokens); "
                     f"{step.scaled(1e3).describe('ms')}")]


#: Tokens in attention of the context rows (issue 26): floor = weights + KV cache read at that context.
FLOOR_CONTEXTS = (256, 1024, 2048)


def kv_bytes(model: Phi3, context: int) -> int:
    """Bytes of rotated keys and values one B=1 decode step reads at `context` tokens in attention."""
    config = model.config
    return 2 * config.num_layers * config.num_kv_heads * config.head_dim * context * 4


def context_rows(models: dict[str, tuple[Phi3, int]], read_gbs: float, plan: Plan, label: str) -> list[dict]:
    """B=1 ms/token of `decode_step` at each of `FLOOR_CONTEXTS` (scaled down in quick mode) for each
    (model, its weight bytes), with its floor (weights + KV cache bytes at that context over the read
    bandwidth) and the ratio."""
    rows = []
    for name, (model, weights) in models.items():
        int8 = "int8" in name
        for context in FLOOR_CONTEXTS:
            context = context if plan is FULL else context // 32
            cache_plan = Plan(**{**plan.__dict__, "decode_context": context, "context": max(context + 8, 64)})
            spread = cached_step_seconds(model, 1, cache_plan)
            read = weights + kv_bytes(model, context)
            floor = read / (read_gbs * 1e9)
            rows.append(row(f"decode floor, {name}, {context} in attention, B=1, {label}", spread.median * 1e3,
                            "ms/token", spread.median / floor,
                            note=f"ratio to the floor {floor * 1e3:.3g} ms ({read / 1e6:.1f} MB of weights + KV "
                                 f"cache at {read_gbs:.3g} GB/s; target {'2.0' if int8 else '1.3'}x); "
                                 f"{spread.scaled(1e3).describe('ms')}"))
    return rows


def quantize_int8(model: Phi3) -> Phi3:
    """A copy of `model` whose blocks hold int8 weights, as `load_piano(int8=True)` makes them."""
    twin = copy.deepcopy(model)
    twin.model.layers = int8_blocks(twin.model.layers)
    return twin


def loss_rows(model: Phi3, int8: Phi3 | None, held_out: HeldOut, source: str) -> list[dict]:
    """Held-out loss of the fp32 weights and of the int8 copy on the same windows."""
    if held_out.windows is None:
        rows = [row("held-out loss fp32", None, "nats/token", note=held_out.note)]
        return rows + [row("held-out loss int8", None, "nats/token", note=held_out.note)] if int8 is not None else rows
    fp32 = window_losses(model, held_out.windows)
    fp32_mean = statistics.fmean(fp32)
    rows = [row("held-out loss fp32", fp32_mean, "nats/token",
                note=_join(held_out.note, f"per window {Spread.of(fp32).describe('nats')}", source))]
    if int8 is not None:
        quantized = window_losses(int8, held_out.windows)
        int8_mean = statistics.fmean(quantized)
        deltas = Spread.of([q - f for q, f in zip(quantized, fp32, strict=True)])
        rows.append(row("held-out loss int8", int8_mean, "nats/token", int8_mean / fp32_mean,
                        note=f"ratio to fp32 on the same windows; delta {int8_mean - fp32_mean:+.4f} nats, "
                             f"per window {deltas.describe('nats')}"))
    return rows


def thread_rows(bundle: PianoBundle, int8: Phi3 | None, twin: nn.Module | None, prime: list[int],
                plan: Plan, threads: int, source: str) -> list[dict]:
    """Every speed row at one torch thread count."""
    torch.set_num_threads(threads)
    label = f"{threads} thread{'s' if threads > 1 else ''}"
    model = bundle.model
    read, copied = bandwidth_gbs(plan.bandwidth_mib, max(5, plan.heavy_repeats))
    weights = weight_bytes(model)
    floor_s = weights / (read.median * 1e9)
    cached = {batch: cached_step_seconds(model, batch, plan) for batch in plan.batches}
    one = cached[plan.batches[0]].median
    context = f"{plan.decode_context} tokens in attention (cache rewound before each step)"
    rows = [
        row(f"memory read bandwidth, {label}", read.median, "GB/s",
            note=f"torch sum of {plan.bandwidth_mib} MiB fp32; {read.describe('GB/s')}"),
        row(f"memory copy bandwidth, {label}", copied.median, "GB/s",
            note=f"torch copy_, read + written bytes; {copied.describe('GB/s')}"),
        row(f"fp32 weight-read floor, B=1, {label}", floor_s * 1e3, "ms",
            note=f"{weights / 1e6:.1f} MB of weights read once at the median read bandwidth"),
        row(f"decode cached, B=1, {label}", one * 1e3, "ms/token", one / floor_s,
            note=f"ratio to the weight-read floor (target <= {FLOOR_TARGET}x); {context}; "
                 f"{cached[plan.batches[0]].scaled(1e3).describe('ms')}; {source}"),
    ]
    rows += [row(f"decode cached, B={batch}, {label}", batch / spread.median, "tokens/s", (batch / spread.median) * one,
                 note=f"ratio to B=1 tokens/s; {context}; {spread.inverted(batch).describe('tokens/s')}")
             for batch, spread in cached.items() if batch > 1]
    for batch in plan.batches:
        spread = recompute_step_seconds(model, batch, plan)
        speedup = spread.median / cached[batch].median
        note = (f"no cache, full forward over the same {plan.decode_context} tokens per token; ratio: cache "
                f"speed-up at equal context; ")
        if batch == 1:
            rows.append(row(f"decode recompute, B=1, {label}", spread.median * 1e3, "ms/token", speedup,
                            note + spread.scaled(1e3).describe("ms")))
        else:
            rows.append(row(f"decode recompute, B={batch}, {label}", batch / spread.median, "tokens/s", speedup,
                            note + spread.inverted(batch).describe("tokens/s")))
    fill = prefill_seconds(model, plan).inverted(plan.prefill_tokens)
    rows.append(row(f"prefill {plan.prefill_tokens} tokens, B=1, {label}", fill.median, "tokens/s", fill.median * one,
                    note=f"ratio to cached B=1 decode tokens/s; {fill.describe('tokens/s')}"))
    for batch in plan.batches:
        rows += generate_rows(model, twin, batch, plan, label)
    rows += stream_step_rows(bundle, prime, plan, label)
    if threads == 1:
        long = Phi3(Phi3Config(**{**model.config.to_dict(), "context_length": 2048})).eval().freeze_for_inference()
        fp32_bytes, int8_bytes = weight_bytes(model), weight_bytes(model, int8_layers=True)
        models = {"fp32": (model, fp32_bytes), "random 2048-context fp32": (long, fp32_bytes),
                  "random 2048-context int8": (quantize_int8(long), int8_bytes)}
        if int8 is not None:
            models["int8"] = (int8, int8_bytes)
        rows += context_rows(models, read.median, plan, label)
    if int8 is None:
        rows.append(row(f"int8 decode, B=1, {label}", None, "ms/token", note="skipped: quantize_dynamic failed"))
    else:
        int8_s = cached_step_seconds(int8, 1, plan)
        int8_floor = weight_bytes(model, int8_layers=True) / (read.median * 1e9)
        rows.append(row(f"int8 decode, B=1, {label}", int8_s.median * 1e3, "ms/token", int8_s.median / one,
                        note=f"quantize_dynamic on the blocks' linears, lm_head fp32; ratio to fp32 ({one * 1e3:.3g} ms) "
                             f"at the same context; {int8_s.median / floor_s:.2f}x the fp32 floor, "
                             f"{int8_s.median / int8_floor:.2f}x the int8 floor ({int8_floor * 1e3:.3g} ms); "
                             f"{int8_s.scaled(1e3).describe('ms')}"))
    return rows


def run(quick: bool = False, bundle: PianoBundle | None = None, data_root: Path | None = None) -> list[dict]:
    """Every piano benchmark row (`quick`: tiny counts and sizes, for a smoke test).

    Args:
        quick: Use `QUICK` instead of `FULL`.
        bundle: The model to measure; by default the shipped checkpoint, else random default weights.
        data_root: Where the piano corpora are (default `encore.training.paths.default_data_root()`).
    """
    plan = QUICK if quick else FULL
    source = "given model"
    if bundle is None:
        bundle, source = load_bundle()
    model = bundle.model
    threads_before = torch.get_num_threads()
    held_out = held_out_windows(bundle, min(plan.loss_window, model.config.context_length), plan.loss_windows,
                                data_root)
    prime = seed_token_ids(bundle, PRIME_FIXTURE)
    try:
        twin = hf_twin(model)
    except ImportError:
        twin = None
    try:
        int8 = quantize_int8(model)
    except (RuntimeError, AssertionError, AttributeError, NotImplementedError):
        int8 = None
    params = sum(p.numel() for p in model.parameters())
    rows = [row("model parameters", params / 1e6, "M", note=source)]
    try:
        for threads in plan.threads:
            rows += thread_rows(bundle, int8, twin, prime, plan, threads, source)
        torch.set_num_threads(1)
        rows += loss_rows(model, int8, held_out, source)
    finally:
        torch.set_num_threads(threads_before)
    return rows


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv[1:]):
        print(f"{result['name']}: {result['median']} {result['unit']} (ratio {result['ratio']}) - {result['note']}")
