"""Piano checkpoints: fp16 safetensors weights, the model config, the tokenizer and a model card.

A checkpoint folder holds everything needed to load and decode: `model.safetensors`, `config.json`,
`tokenizer.json` and `README.md` (the card).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from miditok import REMI
from safetensors.torch import load_file, save_file

from encore.models.errors import CheckpointError
from encore.models.piano.phi3 import Phi3, Phi3Config
from encore.models.piano.tokenizer import RemiPlusSettings, build_tokenizer, load_tokenizer, save_tokenizer
from encore.models.shipped import resolve_checkpoint


@dataclass
class PianoBundle:
    """A loaded piano model with the tokenizer it was trained with."""

    model: Phi3
    tokenizer: REMI
    folder: Path | None = None

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.model.lm_head.weight.device

    @classmethod
    def random(cls, preset: str = "tiny", seed: int = 0, settings: RemiPlusSettings | None = None) -> PianoBundle:
        """An untrained model over a REMI+ vocabulary (tests, benchmarks of shape, grammar checks)."""
        tokenizer = build_tokenizer(settings)
        torch.manual_seed(seed)
        model = Phi3(Phi3Config.from_name(preset, vocab_size=len(tokenizer))).eval()
        return cls(model, tokenizer)


def save_piano(folder: Path, model: Phi3, tokenizer: REMI, card: str) -> Path:
    """Write a checkpoint folder with fp16 weights; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = {name: tensor.detach().to("cpu", torch.float16).contiguous() for name, tensor in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2) + "\n")
    save_tokenizer(tokenizer, folder)
    (folder / "README.md").write_text(card)
    return folder


def int8_blocks(layers: torch.nn.ModuleList) -> torch.nn.ModuleList:
    """A copy of the transformer blocks with int8 Linear weights (dynamic activation quantization).

    `lm_head` stays as it is: it is 2% of the weights and the KV cache takes its dtype from it.
    """
    with warnings.catch_warnings():  # torch 2.13 announces a future replacement of quantized tensors
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(layers, {torch.nn.Linear}, dtype=torch.qint8)


def load_piano(folder: str | Path | None = None, device: str | torch.device = "cpu",
               dtype: torch.dtype | None = None, int8: bool = False) -> PianoBundle:
    """Load a checkpoint (a folder or a shipped name, default `piano-default`) onto `device`, ready to decode.

    Weights are float32 on CPU and bfloat16 on CUDA unless `dtype` says otherwise. `int8=True`
    (CPU only) quantizes the transformer blocks' Linear layers to int8 with dynamic activation
    quantization; see BENCHMARKS.md for its speed and held-out loss.
    """
    folder = resolve_checkpoint(folder, "piano")
    if not (folder / "model.safetensors").is_file():
        raise CheckpointError(f"{folder}: no model.safetensors (not a piano checkpoint)")
    config = Phi3Config(**json.loads((folder / "config.json").read_text()))
    model = Phi3(config)
    state = load_file(folder / "model.safetensors")
    if config.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state)
    device = torch.device(device)
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
    model = model.to(device=device, dtype=dtype).eval()
    model.rotary.refresh()  # float32 tables whatever the weights' dtype
    if int8:
        if device.type != "cpu":
            raise CheckpointError("int8 weights are for the CPU only")
        model.model.layers = int8_blocks(model.model.layers)
    return PianoBundle(model.freeze_for_inference(), load_tokenizer(folder), folder)
