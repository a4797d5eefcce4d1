"""Load a Hugging Face Phi-3 checkpoint (config.json + safetensors) into our `Phi3` module.

Weight names are the same on both sides, so only the config needs translating. Users who have
SMART's public base checkpoint can load it this way.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from encore.models.errors import CheckpointError
from encore.models.piano.phi3 import Phi3, Phi3Config


def config_from_hf(hf: dict) -> Phi3Config:
    """Translate a Hugging Face Phi-3 `config.json` dict into our config."""
    rope = hf.get("rope_parameters") or {}
    scaling = hf.get("rope_scaling")
    if scaling or rope.get("rope_type", "default") != "default":
        raise CheckpointError(f"unsupported rope scaling {scaling or rope} (only plain rotary embeddings)")
    return Phi3Config(
        vocab_size=hf["vocab_size"],
        hidden_size=hf["hidden_size"],
        num_layers=hf["num_hidden_layers"],
        num_heads=hf["num_attention_heads"],
        num_kv_heads=hf.get("num_key_value_heads") or hf["num_attention_heads"],
        intermediate_size=hf["intermediate_size"],
        context_length=hf.get("max_position_embeddings", 4096),
        rope_theta=rope.get("rope_theta", hf.get("rope_theta", 10000.0)),
        partial_rotary_factor=rope.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0)),
        rms_norm_eps=hf.get("rms_norm_eps", 1e-5),
        tie_word_embeddings=hf.get("tie_word_embeddings", False),
    )


def read_hf_weights(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a single-file or sharded safetensors checkpoint."""
    single = folder / "model.safetensors"
    if single.is_file():
        return load_file(single)
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        raise CheckpointError(f"{folder}: no model.safetensors or model.safetensors.index.json")
    shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    weights: dict[str, torch.Tensor] = {}
    for shard in shards:
        weights.update(load_file(folder / shard))
    return weights


def load_hf_phi3(folder: Path, dtype: torch.dtype = torch.float32) -> Phi3:
    """Our `Phi3` with the weights of a Hugging Face `Phi3ForCausalLM` checkpoint folder."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{folder}: no config.json")
    model = Phi3(config_from_hf(json.loads(config_path.read_text())))
    weights = read_hf_weights(folder)
    if model.config.tie_word_embeddings and "lm_head.weight" not in weights:
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{folder}: weights do not match Phi-3 (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(dtype).eval()
