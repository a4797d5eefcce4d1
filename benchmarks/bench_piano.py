"""Piano model speed on CPU, with 1 and with 2 torch threads, side by side with Hugging Face.

`run()` returns rows (name, median, unit, ratio, note) for the benchmark runner. Every timing is the
median of repeated runs after warm-up; every ratio compares numbers taken in this same run. Rows:

- `decode cached, B=1`: ms/token of `decode_step` on a cache primed with 128 tokens (context 512);
  ratio to the weight-read floor (the fp32 weights read once at the measured bandwidth).
- `decode cached, B=8|32`: tokens/s; ratio to B=1 tokens/s (what batching buys).
- `decode recompute, B=1|8|32`: the same without a cache (a full forward over a 256-token context
  per token); ratio is the cache's speed-up (cached tokens/s over recompute tokens/s).
- `prefill 512 tokens, B=1`: tokens/s; ratio to cached B=1 decode tokens/s.
- `memory read|copy bandwidth` (GB/s) and `fp32 weight-read floor, B=1` (ms).
- `generate hf|ours, B=1|8|32`: tokens/s of `Phi3ForCausalLM.generate()` (greedy, 128-token prompt,
  32 new tokens) and of our prefill + decode loop on the same weights; ours has our speed-up as ratio.
- `stream step, B=1`: ms/token of `PianoStream.step()` (model, grammar, sampler, decoder); ratio to
  bare `decode_step`.
- `int8 decode, B=1`: ms/token with dynamically quantized int8 linears; ratio to fp32.
- `held-out loss fp32|int8`: mean next-token loss on windows of the repo's MIDI fixtures.

The shipped checkpoint is used when present, else random weights of the default shape (same cost;
the rows say which). Run alone with `python -m benchmarks.bench_piano [--quick]`.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.timing import median_seconds
from encore.models.piano.checkpoint import PianoBundle, int8_blocks, load_piano
from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.phi3 import Phi3
from encore.models.piano.stream import PianoStream, seed_token_ids
from encore.models.shipped import shipped_folder

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted((REPO / "tests" / "fixtures").glob("piano_midi_de/*.mid")) + sorted(
    (REPO / "tests" / "fixtures").glob("pop909/*.mid"))
#: B=1 decoding should come within this factor of the weight-read floor.
FLOOR_TARGET = 1.3


@dataclass(frozen=True)
class Plan:
    """How much to measure: sizes of the runs and how often each is repeated."""

    warmup: int = 5
    repeats: int = 40
    heavy_warmup: int = 1
    heavy_repeats: int = 3
    prime_tokens: int = 128
    context: int = 512
    recompute_context: int = 256
    prefill_tokens: int = 512
    prompt_tokens: int = 128
    new_tokens: int = 32
    batches: tuple[int, ...] = (1, 8, 32)
    threads: tuple[int, ...] = (1, 2)
    loss_window: int = 256
    loss_windows: int = 16
    bandwidth_mib: int = 256


FULL = Plan()
QUICK = Plan(warmup=1, repeats=3, heavy_warmup=1, heavy_repeats=1, prime_tokens=16, context=64,
             recompute_context=32, prefill_tokens=32, prompt_tokens=8, new_tokens=4, loss_window=32,
             loss_windows=2, bandwidth_mib=16)


def row(name: str, median: float | None, unit: str, ratio: float | None = None, note: str = "") -> dict:
    """One benchmark row, numbers rounded to 4 significant digits."""
    return {"name": name, "median": _sig(median), "unit": unit, "ratio": _sig(ratio), "note": note}


def _sig(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


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


def bandwidth_gbs(mib: int, repeats: int) -> tuple[float, float]:
    """Median (read, copy) memory bandwidth in GB/s with the current torch threads (copy counts
    the bytes read plus the bytes written, as STREAM does)."""
    source = torch.ones(mib * 2**20 // 4)
    target = torch.empty_like(source)
    size = source.numel() * 4
    read = median_seconds(source.sum, 2, repeats)
    copy = median_seconds(lambda: target.copy_(source), 2, repeats)
    return size / read / 1e9, 2 * size / copy / 1e9


def cached_step_seconds(model: nn.Module, batch: int, plan: Plan) -> float:
    """Median seconds of one `decode_step` at `batch` on a cache primed with `plan.prime_tokens`."""
    model.setup_caches(batch, plan.context)
    vocab = model.config.vocab_size
    prefill(model, torch.randint(0, vocab, (batch, plan.prime_tokens)))
    tokens = torch.randint(0, vocab, (batch,))
    return median_seconds(lambda: decode_step(model, tokens), plan.warmup, plan.repeats)


def recompute_step_seconds(model: Phi3, batch: int, plan: Plan) -> float:
    """Median seconds of one token without a cache: a full forward over the whole context."""
    tokens = torch.randint(0, model.config.vocab_size, (batch, plan.recompute_context))
    with torch.inference_mode():
        return median_seconds(lambda: model(tokens)[:, -1], plan.heavy_warmup, plan.heavy_repeats)


def prefill_seconds(model: Phi3, plan: Plan) -> float:
    """Median seconds to prefill `plan.prefill_tokens` tokens at B=1 into a reset cache."""
    cache = model.setup_caches(1, plan.prefill_tokens + 64)
    tokens = torch.randint(0, model.config.vocab_size, (1, plan.prefill_tokens))

    def call() -> None:
        cache.reset()
        prefill(model, tokens)

    return median_seconds(call, plan.heavy_warmup, plan.heavy_repeats)


def hf_twin(model: Phi3) -> nn.Module:
    """Hugging Face `Phi3ForCausalLM` with our config and weights (the names match)."""
    import transformers

    transformers.logging.set_verbosity_error()
    config = model.config
    hf_config = transformers.Phi3Config(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads, max_position_embeddings=config.context_length,
        rope_theta=config.rope_theta, partial_rotary_factor=config.partial_rotary_factor,
        rms_norm_eps=config.rms_norm_eps, tie_word_embeddings=config.tie_word_embeddings,
        use_cache=True, pad_token_id=0, bos_token_id=None, eos_token_id=None,
    )
    twin = transformers.Phi3ForCausalLM(hf_config)
    missing, unexpected = twin.load_state_dict(model.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"weights do not match: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return twin.to(next(model.parameters()).dtype).eval()


@torch.inference_mode()
def greedy_ours(model: Phi3, prompt: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """Greedy continuation with our prefill and decode steps (one prefill, `new_tokens - 1` steps,
    as `generate()` does); the cache is set up beforehand and reset here, as in a show."""
    model.cache.reset()
    token = prefill(model, prompt).argmax(-1)
    out = [token]
    for _ in range(new_tokens - 1):
        token = decode_step(model, token).argmax(-1)
        out.append(token)
    return torch.stack(out, 1)


def generate_rows(model: Phi3, twin: nn.Module | None, batch: int, plan: Plan, label: str) -> list[dict]:
    """Tokens/s of HF `generate()` and of our loop on the same prompt, greedy."""
    prompt = torch.randint(3, model.config.vocab_size, (batch, plan.prompt_tokens))
    made = batch * plan.new_tokens
    model.setup_caches(batch, plan.prompt_tokens + plan.new_tokens + 8)
    ours_s = median_seconds(lambda: greedy_ours(model, prompt, plan.new_tokens), plan.heavy_warmup, plan.heavy_repeats)
    shape = f"B={batch}, {label}"
    what = f"{plan.prompt_tokens}-token prompt + {plan.new_tokens} new tokens, greedy"
    if twin is None:
        return [row(f"generate ours, {shape}", made / ours_s, "tokens/s", note=f"{what}; HF skipped: no transformers")]
    mask = torch.ones_like(prompt)

    def hf_generate() -> torch.Tensor:
        with torch.inference_mode():
            return twin.generate(prompt, attention_mask=mask, max_new_tokens=plan.new_tokens,
                                 do_sample=False, pad_token_id=0)

    hf_s = median_seconds(hf_generate, plan.heavy_warmup, plan.heavy_repeats)
    agree = torch.equal(hf_generate()[:, plan.prompt_tokens:], greedy_ours(model, prompt, plan.new_tokens))
    return [
        row(f"generate hf, {shape}", made / hf_s, "tokens/s",
            note=f"transformers Phi3ForCausalLM.generate(use_cache=True), "
                 f"{twin.config._attn_implementation} attention; {what}"),
        row(f"generate ours, {shape}", made / ours_s, "tokens/s", hf_s / ours_s,
            note=f"ratio: our speed-up over HF (target > 1); greedy tokens {'agree' if agree else 'DIFFER'}; "
                 "our cache allocated once and reset, as in a show"),
    ]


def stream_step_seconds(bundle: PianoBundle, prime: list[int], plan: Plan) -> float:
    """Median seconds of `PianoStream.step()` at B=1, primed with up to `plan.prime_tokens` tokens."""
    stream = PianoStream(bundle, seed=0, max_prime_tokens=plan.prime_tokens)
    stream.prime(prime)
    return median_seconds(stream.step, plan.warmup, plan.repeats)


def quantize_int8(model: Phi3) -> Phi3:
    """A copy of `model` whose blocks hold int8 weights, as `load_piano(int8=True)` makes them."""
    model.cache = None  # not worth deep-copying
    twin = copy.deepcopy(model)
    twin.model.layers = int8_blocks(twin.model.layers)
    return twin


def fixture_windows(bundle: PianoBundle, window: int, count: int) -> torch.Tensor:
    """Up to `count` token windows (count, window) of the repo's MIDI fixtures, spread evenly."""
    windows = []
    for path in FIXTURES:
        ids = seed_token_ids(bundle, path)
        windows += [ids[start:start + window] for start in range(0, len(ids) - window + 1, window)]
    if not windows:
        raise RuntimeError("no fixture is long enough for one loss window")
    step = max(1, len(windows) // count)
    return torch.tensor(windows[::step][:count])


@torch.inference_mode()
def mean_loss(model: nn.Module, windows: torch.Tensor) -> float:
    """Mean next-token cross-entropy (nats) over every position of `windows`, no cache."""
    total, count = 0.0, 0
    for piece in windows.split(4):
        logits = model(piece)[:, :-1]
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), piece[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += piece[:, 1:].numel()
    return total / count


def thread_rows(bundle: PianoBundle, int8: Phi3 | None, twin: nn.Module | None, prime: list[int],
                plan: Plan, threads: int, source: str) -> list[dict]:
    """Every speed row at one torch thread count."""
    torch.set_num_threads(threads)
    label = f"{threads} thread{'s' if threads > 1 else ''}"
    model = bundle.model
    read_gbs, copy_gbs = bandwidth_gbs(plan.bandwidth_mib, max(3, plan.heavy_repeats))
    weights = weight_bytes(model)
    floor_s = weights / (read_gbs * 1e9)
    cached = {batch: cached_step_seconds(model, batch, plan) for batch in plan.batches}
    one = cached[plan.batches[0]]
    context = f"cache primed with {plan.prime_tokens} tokens, context {plan.context}"
    rows = [
        row(f"memory read bandwidth, {label}", read_gbs, "GB/s", note=f"torch sum of {plan.bandwidth_mib} MiB fp32"),
        row(f"memory copy bandwidth, {label}", copy_gbs, "GB/s", note="torch copy_, read + written bytes"),
        row(f"fp32 weight-read floor, B=1, {label}", floor_s * 1e3, "ms",
            note=f"{weights / 1e6:.1f} MB of weights read once at the read bandwidth"),
        row(f"decode cached, B=1, {label}", one * 1e3, "ms/token", one / floor_s,
            note=f"ratio to the weight-read floor (target <= {FLOOR_TARGET}x); {context}; {source}"),
    ]
    rows += [row(f"decode cached, B={batch}, {label}", batch / seconds, "tokens/s", (batch / seconds) * one,
                 note="ratio to B=1 tokens/s") for batch, seconds in cached.items() if batch > 1]
    for batch in plan.batches:
        seconds = recompute_step_seconds(model, batch, plan)
        speedup = seconds / cached[batch]
        note = f"no cache, full forward over {plan.recompute_context} tokens per token; ratio: cache speed-up"
        rows.append(row(f"decode recompute, B={batch}, {label}", seconds * 1e3 if batch == 1 else batch / seconds,
                        "ms/token" if batch == 1 else "tokens/s", speedup, note))
    fill = plan.prefill_tokens / prefill_seconds(model, plan)
    rows.append(row(f"prefill {plan.prefill_tokens} tokens, B=1, {label}", fill, "tokens/s", fill * one,
                    note="ratio to cached B=1 decode tokens/s"))
    for batch in plan.batches:
        rows += generate_rows(model, twin, batch, plan, label)
    bare = cached_step_seconds(model, 1, plan)
    step = stream_step_seconds(bundle, prime, plan)
    rows.append(row(f"stream step, B=1, {label}", step * 1e3, "ms/token", step / bare,
                    note=f"PianoStream.step(): model + grammar + sampler + decoder; ratio to bare decode_step "
                         f"({bare * 1e3:.3g} ms)"))
    if int8 is None:
        rows.append(row(f"int8 decode, B=1, {label}", None, "ms/token", note="skipped: quantize_dynamic failed"))
    else:
        int8_s = cached_step_seconds(int8, 1, plan)
        int8_floor = weight_bytes(model, int8_layers=True) / (read_gbs * 1e9)
        rows.append(row(f"int8 decode, B=1, {label}", int8_s * 1e3, "ms/token", int8_s / one,
                        note=f"quantize_dynamic on the blocks' linears, lm_head fp32; ratio to fp32 ({one * 1e3:.3g} ms); {int8_s / floor_s:.2f}x the fp32 floor, "
                             f"{int8_s / int8_floor:.2f}x the int8 floor ({int8_floor * 1e3:.3g} ms)"))
    return rows


def run(quick: bool = False, bundle: PianoBundle | None = None) -> list[dict]:
    """Every piano benchmark row (`quick`: tiny counts and sizes, for a smoke test).

    Args:
        quick: Use `QUICK` instead of `FULL`.
        bundle: The model to measure; by default the shipped checkpoint, else random default weights.
    """
    plan = QUICK if quick else FULL
    source = "given model"
    if bundle is None:
        bundle, source = load_bundle()
    model = bundle.model
    threads_before = torch.get_num_threads()
    windows = fixture_windows(bundle, min(plan.loss_window, model.config.context_length), plan.loss_windows)
    prime = seed_token_ids(bundle, FIXTURES[0])
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
        fp32_loss = mean_loss(model, windows)
        where = f"{len(windows)} windows of {windows.shape[1]} tokens from tests/fixtures (merged tracks)"
        rows.append(row("held-out loss fp32", fp32_loss, "nats/token", note=f"{where}; {source}"))
        if int8 is not None:
            int8_loss = mean_loss(int8, windows)
            rows.append(row("held-out loss int8", int8_loss, "nats/token", int8_loss / fp32_loss,
                            note=f"ratio to fp32; delta {int8_loss - fp32_loss:+.4f} nats"))
    finally:
        torch.set_num_threads(threads_before)
        model.cache = None
    return rows


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv[1:]):
        print(f"{result['name']}: {result['median']} {result['unit']} (ratio {result['ratio']}) - {result['note']}")
