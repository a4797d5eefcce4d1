"""The lean decode step equals the model's forward for one token: same logits within 1e-4, same greedy
tokens, rotated keys bit for bit what `Rotary.rotate` gives, across rolls and rewinds; int8 too."""

from __future__ import annotations

import pytest
import torch

from encore.models.piano.checkpoint import int8_blocks
from encore.models.piano.decoding import prefill
from encore.models.piano.lean_decode import lean_decode_step
from encore.models.piano.phi3 import Phi3, Phi3Config


def reference_step(model: Phi3, tokens: torch.Tensor, cache) -> torch.Tensor:
    """The forward pass the lean step replaces."""
    with torch.inference_mode():
        return model(tokens[:, None], cache.reserve(1), cache)[:, 0]


def lean(model: Phi3, tokens: torch.Tensor, cache) -> torch.Tensor:
    with torch.inference_mode():
        return lean_decode_step(model, tokens, cache)


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("batch,kv_heads,partial", [(1, 4, 1.0), (3, 2, 0.5)])
def test_greedy_tokens_and_logits_match_the_forward_across_rolls_and_rewinds(
        frozen: bool, batch: int, kv_heads: int, partial: float) -> None:
    torch.manual_seed(0)
    model = Phi3(Phi3Config.from_name("tiny", vocab_size=97, context_length=48, num_kv_heads=kv_heads,
                                      partial_rotary_factor=partial)).eval()
    if frozen:
        model.freeze_for_inference()
    ours, theirs = model.setup_cache(batch, max_length=48), model.setup_cache(batch, max_length=48)
    ours.keep_undo(4)
    prompt = torch.randint(0, 97, (batch, 20))
    ours_logits, their_logits = prefill(model, prompt, ours), prefill(model, prompt, theirs)
    mark, after_mark = None, []
    for step in range(200):
        token = ours_logits.argmax(-1)
        assert torch.equal(token, their_logits.argmax(-1)), f"greedy tokens differ at step {step}"
        ours_logits, their_logits = lean(model, token, ours), reference_step(model, token, theirs)
        torch.testing.assert_close(ours_logits, their_logits, atol=1e-4, rtol=0)
        if mark is not None:
            after_mark.append((token, ours_logits))
        if step == 180:
            mark = ours.mark()
    assert ours.rolls >= 3
    for layer in range(len(ours.k_rot)):
        valid = slice(0, ours.length)
        assert torch.equal(ours.k_rot[layer][:, :, valid],
                           model.rotary.rotate(ours.k_raw[layer][:, :, valid], valid))
    assert ours.rolls > mark.rolls
    ours.rewind(mark)  # across rolls: from the restored cache the lean step gives what it gave the first time
    for token, logits in after_mark:
        assert torch.equal(lean(model, token, ours), logits)


def test_int8_blocks_take_the_same_kernel_as_the_module() -> None:
    torch.manual_seed(0)
    model = Phi3(Phi3Config.from_name("tiny", vocab_size=97, context_length=64)).eval()
    model.model.layers = int8_blocks(model.model.layers)
    ours, theirs = model.setup_cache(2, max_length=64), model.setup_cache(2, max_length=64)
    prompt = torch.randint(0, 97, (2, 10))
    prefill(model, prompt, ours), prefill(model, prompt, theirs)
    for token in torch.randint(0, 97, (90, 2)):
        torch.testing.assert_close(lean(model, token, ours), reference_step(model, token, theirs), atol=1e-4, rtol=0)
    assert ours.rolls > 0
