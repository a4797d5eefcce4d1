"""Our Phi-3 beside its Hugging Face twin: the same weights in `Phi3ForCausalLM`, and greedy decoding with
our own prefill and decode steps, so the piano benchmark compares like for like."""

from __future__ import annotations

import torch
from torch import nn

from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.kv_cache import KVCache
from encore.models.piano.phi3 import Phi3


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
def greedy_ours(model: Phi3, prompt: torch.Tensor, new_tokens: int, cache: KVCache) -> torch.Tensor:
    """Greedy continuation with our prefill and decode steps (one prefill, `new_tokens - 1` steps,
    as `generate()` does), in `cache` (reset here first)."""
    cache.reset()
    token = prefill(model, prompt, cache).argmax(-1)
    out = [token]
    for _ in range(new_tokens - 1):
        token = decode_step(model, token, cache).argmax(-1)
        out.append(token)
    return torch.stack(out, 1)
