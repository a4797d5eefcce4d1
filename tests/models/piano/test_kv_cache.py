"""Cached decoding equals a full forward pass before the window rolls, and runs on forever after."""

from __future__ import annotations

import pytest
import torch

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
    model.setup_caches(batch, max_length=64)
    logits = [prefill(model, tokens[:, :prompt_length])]
    for index in range(prompt_length, tokens.shape[1]):
        logits.append(decode_step(model, tokens[:, index]))
    cached = torch.stack(logits[:-1], dim=1)
    assert model.cache.rolls == 0
    torch.testing.assert_close(cached, full[:, prompt_length - 1 : -1], atol=1e-4, rtol=0)


def test_prefill_in_chunks_matches_one_pass(model: Phi3) -> None:
    tokens = torch.randint(0, 97, (2, 50))
    model.setup_caches(2, max_length=64)
    whole = prefill(model, tokens)
    model.setup_caches(2, max_length=64)
    chunked = prefill(model, tokens, chunk=7)
    torch.testing.assert_close(chunked, whole, atol=1e-4, rtol=0)


def test_rolling_window_decodes_ten_times_the_context(model: Phi3) -> None:
    cache = model.setup_caches(2, max_length=64, sink_tokens=4)
    token = torch.zeros(2, dtype=torch.long)
    logits = prefill(model, torch.randint(0, 97, (2, 10)))
    for _ in range(10 * 64):
        token = torch.argmax(logits, dim=-1)
        logits = decode_step(model, token)
        assert cache.length <= 64
        assert torch.isfinite(logits).all()
    assert cache.rolls > 0 and cache.tokens_seen == 10 + 640


def test_after_a_roll_kept_keys_sit_at_their_new_positions(model: Phi3) -> None:
    """After a roll the cache holds sink + recent tokens at slots 0..n-1, rotated for those slots.

    Layer 0's keys depend only on the token itself, so they must equal a fresh projection of the kept
    tokens rotated at their new slots; deeper layers keep what they saw (as in StreamingLLM).
    """
    cache = model.setup_caches(1, max_length=32, sink_tokens=4)
    tokens = torch.randint(0, 97, (1, 40))
    prefill(model, tokens[:, :32])
    decode_step(model, tokens[:, 32])
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
    cache = model.setup_caches(1, max_length=16, sink_tokens=4)
    with pytest.raises(ValueError):
        cache.reserve(13)
