"""Cached decoding equals a full forward pass: before the window rolls, and after any number of rolls
over exactly the tokens the cache keeps (attention sink + most recent), at the slots it keeps them in."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.phi3 import Phi3, Phi3Config


@pytest.fixture
def model() -> Phi3:
    torch.manual_seed(0)
    return Phi3(Phi3Config.from_name("tiny", vocab_size=97, context_length=64)).eval()


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("prompt_length", [1, 9])
def test_cached_decoding_matches_full_forward(model: Phi3, batch: int, prompt_length: int) -> None:
    tokens = torch.randint(0, 97, (batch, 60))
    with torch.inference_mode():
        full = model(tokens)
    cache = model.setup_cache(batch, max_length=64)
    logits = [prefill(model, tokens[:, :prompt_length], cache)]
    for index in range(prompt_length, tokens.shape[1]):
        logits.append(decode_step(model, tokens[:, index], cache))
    cached = torch.stack(logits[:-1], dim=1)
    assert cache.rolls == 0
    torch.testing.assert_close(cached, full[:, prompt_length - 1 : -1], atol=1e-4, rtol=0)


def test_prefill_in_chunks_matches_one_pass(model: Phi3) -> None:
    tokens = torch.randint(0, 97, (2, 50))
    whole = prefill(model, tokens, model.setup_cache(2, max_length=64))
    chunked = prefill(model, tokens, model.setup_cache(2, max_length=64), chunk=7)
    torch.testing.assert_close(chunked, whole, atol=1e-4, rtol=0)


def test_the_model_keeps_no_cache_and_two_caches_do_not_mix(model: Phi3) -> None:
    """Each `setup_cache` call gives a new cache; decoding two of them in turn equals each alone."""
    first_tokens, second_tokens = torch.randint(0, 97, (2, 1, 30))
    alone = model.setup_cache(1, max_length=32)
    expected = [prefill(model, first_tokens[:, :5], alone)]
    expected += [decode_step(model, first_tokens[:, i], alone) for i in range(5, 30)]
    first, second = model.setup_cache(1, max_length=32), model.setup_cache(1, max_length=32)
    assert first is not second and not hasattr(model, "cache")
    got = [prefill(model, first_tokens[:, :5], first)]
    prefill(model, second_tokens[:, :9], second)
    for i in range(5, 30):
        got.append(decode_step(model, first_tokens[:, i], first))
        decode_step(model, second_tokens[:, i], second)
    torch.testing.assert_close(torch.stack(got), torch.stack(expected), atol=0, rtol=0)


def test_a_cached_forward_needs_positions(model: Phi3) -> None:
    with pytest.raises(ValueError, match="reserve"):
        model(torch.zeros(1, 1, dtype=torch.long), cache=model.setup_cache(1))


def test_a_longer_cache_extends_the_rotary_table_without_changing_it(model: Phi3) -> None:
    before = model.rotary.table.clone()
    cache = model.setup_cache(1, max_length=200)
    assert model.rotary.max_positions == 200
    torch.testing.assert_close(model.rotary.table[:, :64], before, atol=0, rtol=0)
    model.setup_cache(1, max_length=100)
    assert model.rotary.max_positions == 200, "the table never shrinks under a cache that uses it"
    tokens = torch.randint(0, 97, (1, 150))
    with torch.inference_mode():
        full = model(tokens)[:, -1]
    torch.testing.assert_close(prefill(model, tokens, cache), full, atol=1e-4, rtol=0)


def test_rolling_window_decodes_ten_times_the_context(model: Phi3) -> None:
    cache = model.setup_cache(2, max_length=64, sink_tokens=4)
    logits = prefill(model, torch.randint(0, 97, (2, 10)), cache)
    for _ in range(10 * 64):
        token = torch.argmax(logits, dim=-1)
        logits = decode_step(model, token, cache)
        assert cache.length <= 64
        assert torch.isfinite(logits).all()
    assert cache.rolls > 0 and cache.tokens_seen == 10 + 640


def one_layer_model(dtype: torch.dtype, kv_heads: int, partial: float) -> Phi3:
    """A one-layer model with weights large enough that attention is sharp and position-dependent.

    With one layer, every cached key and value depends only on its own token, so after a roll the
    cache must give exactly what a full pass over the kept tokens gives (deeper layers would keep
    what they computed with the evicted tokens in view, as in StreamingLLM).
    """
    torch.manual_seed(0)
    config = Phi3Config.from_name("tiny", vocab_size=97, num_layers=1, context_length=24,
                                  num_kv_heads=kv_heads, partial_rotary_factor=partial)
    model = Phi3(config)
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.15)
    return model.to(dtype).eval().freeze_for_inference()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kv_heads,partial", [(4, 1.0), (2, 0.5)])
def test_decoding_after_rolls_equals_a_full_pass_over_the_kept_tokens(
    dtype: torch.dtype, kv_heads: int, partial: float
) -> None:
    """After one roll and after many, cached logits equal a full forward pass (no cache) over the sink
    tokens + the most recent tokens, at positions 0..n-1: the slots the cache keeps them in."""
    model = one_layer_model(dtype, kv_heads, partial)
    sink = 4
    cache = model.setup_cache(2, max_length=24, sink_tokens=sink)
    history = torch.randint(0, 97, (2, 160))
    seen = 10
    prefill(model, history[:, :seen], cache)
    rolls_checked = set()
    chunks = [1, 1, 1, 3, 1, 1, 5, 1, 2]  # mostly decode steps, some prefill chunks across a roll
    step = 0
    while seen + chunks[step % len(chunks)] <= history.shape[1]:
        count = chunks[step % len(chunks)]
        step += 1
        new = history[:, seen : seen + count]
        logits = decode_step(model, new[:, 0], cache) if count == 1 else prefill(model, new, cache)
        seen += count
        assert cache.tokens_seen == seen
        recent = cache.length - sink
        kept = torch.cat([history[:, :sink], history[:, seen - recent : seen]], dim=1)
        with torch.inference_mode():
            full = model(kept)[:, -1]
        torch.testing.assert_close(logits, full, atol=1e-4, rtol=0,
                                   msg=lambda text, rolls=cache.rolls: f"after {rolls} rolls: {text}")
        rolls_checked.add(cache.rolls)
    assert 1 in rolls_checked and max(rolls_checked) >= 10, rolls_checked


def test_after_a_roll_kept_keys_sit_at_their_new_positions(model: Phi3) -> None:
    """After a roll the cache holds sink + recent tokens at slots 0..n-1, rotated for those slots.

    Layer 0's keys depend only on the token itself, so they must equal a fresh projection of the kept
    tokens rotated at their new slots; deeper layers keep what they saw (as in StreamingLLM).
    """
    cache = model.setup_cache(1, max_length=32, sink_tokens=4)
    tokens = torch.randint(0, 97, (1, 40))
    prefill(model, tokens[:, :32], cache)
    decode_step(model, tokens[:, 32], cache)
    assert cache.rolls == 1
    evicted = 33 - cache.length
    kept = torch.cat([tokens[:, :4], tokens[:, 4 + evicted : 33]], dim=1)
    block = model.model.layers[0]
    with torch.inference_mode():
        hidden = block.input_layernorm(model.model.embed_tokens(kept))
        _, k, _ = block.self_attn.qkv_proj(hidden).split([64, 64, 64], dim=-1)
        k = k.view(1, kept.shape[1], 4, 16).transpose(1, 2)
        expected = model.rotary.rotate(k, torch.arange(kept.shape[1]))
    torch.testing.assert_close(cache.k_rot[0][:, :, : cache.length], expected, atol=1e-5, rtol=0)
    for layer in range(2):
        torch.testing.assert_close(
            cache.k_rot[layer][:, :, : cache.length],
            model.rotary.rotate(cache.k_raw[layer][:, :, : cache.length], torch.arange(cache.length)),
        )


def test_reserve_refuses_more_than_capacity(model: Phi3) -> None:
    cache = model.setup_cache(1, max_length=16, sink_tokens=4)
    with pytest.raises(ValueError):
        cache.reserve(13)


@pytest.mark.parametrize("rolls_back", [0, 1, 3])
def test_a_rewind_restores_the_cache_bit_for_bit_across_rolls(model: Phi3, rolls_back: int) -> None:
    """Rewound to a mark (across `rolls_back` undone rolls), the valid part of every buffer is exactly what
    it was, and decoding on gives exactly the logits it gave the first time."""
    cache = model.setup_cache(1, max_length=64)
    cache.keep_undo(4)
    tokens = torch.randint(0, 97, (1, 400))
    prefill(model, tokens[:, :30], cache)
    index = 30
    while cache.rolls < 2:  # some history first, so the mark sits after rolls of its own
        decode_step(model, tokens[:, index], cache)
        index += 1
    mark, buffers = cache.mark(), [b[:, :, : cache.length].clone() for b in (*cache.k_raw, *cache.k_rot, *cache.v)]
    first = []
    while cache.rolls < mark.rolls + rolls_back or len(first) < 5:
        first.append(decode_step(model, tokens[:, index + len(first)], cache))
    cache.rewind(mark)
    assert (cache.length, cache.tokens_seen, cache.rolls) == (mark.length, mark.tokens_seen, mark.rolls)
    now = [b[:, :, : cache.length] for b in (*cache.k_raw, *cache.k_rot, *cache.v)]
    assert all(torch.equal(a, b) for a, b in zip(buffers, now, strict=True))
    again = [decode_step(model, tokens[:, index + i], cache) for i in range(len(first))]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_a_rewind_past_the_kept_rolls_is_refused(model: Phi3) -> None:
    cache = model.setup_cache(1, max_length=64)
    cache.keep_undo(1)
    prefill(model, torch.randint(0, 97, (1, 30)), cache)
    mark = cache.mark()
    while cache.rolls < mark.rolls + 2:
        decode_step(model, torch.randint(0, 97, (1,)), cache)
    assert not cache.can_rewind(mark)
    with pytest.raises(ValueError, match="cannot rewind"):
        cache.rewind(mark)
