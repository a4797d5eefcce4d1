"""A random Hugging Face Phi3ForCausalLM, saved and loaded into our module, gives the same logits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers  # a test dependency (pyproject `test` extra): missing means a failing test, not a skip

from encore.models.errors import CheckpointError
from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.hf_phi3 import load_hf_phi3


@pytest.mark.parametrize("kv_heads,partial", [(4, 1.0), (2, 0.5)])
def test_hf_phi3_logits_match(tmp_path: Path, kv_heads: int, partial: float) -> None:
    torch.manual_seed(0)
    config = transformers.Phi3Config(
        vocab_size=101, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=kv_heads, max_position_embeddings=128, partial_rotary_factor=partial,
        pad_token_id=0, bos_token_id=1, eos_token_id=2,
    )
    reference = transformers.Phi3ForCausalLM(config).eval()
    reference.save_pretrained(tmp_path)
    ours = load_hf_phi3(tmp_path)
    tokens = torch.randint(0, 101, (2, 40))
    with torch.no_grad():
        expected = reference(tokens).logits
        torch.testing.assert_close(ours(tokens), expected, atol=1e-4, rtol=1e-4)
    cache = ours.setup_cache(2, max_length=64)
    cached = [prefill(ours, tokens[:, :20], cache)]
    cached += [decode_step(ours, tokens[:, i], cache) for i in range(20, 40)]
    torch.testing.assert_close(torch.stack(cached[:-1], 1), expected[:, 19:-1], atol=1e-4, rtol=1e-4)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="config.json"):
        load_hf_phi3(tmp_path)
