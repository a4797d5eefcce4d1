"""Groove VAE checkpoints: a folder with fp16 `model.safetensors`, `config.json` and a `README.md` card.

`config.json` holds the model config (`GrooveConfig.to_dict()`), the grid facts and a free-form
`training` record, so loading needs nothing else:

    vae = load_vae("models/checkpoints/groove-aux")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from encore.models.errors import CheckpointError
from encore.models.groove.config import GrooveConfig
from encore.models.groove.drum_map import CLASS_OUTPUT_PITCHES, DRUM_NAMES
from encore.models.groove.grid import STEPS_PER_BEAT, WINDOW_STEPS
from encore.models.groove.vae import GrooveVAE

FORMAT = "encore-groove/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"


def save_checkpoint(model: GrooveVAE, folder: str | Path, training: dict[str, Any], card: str | None = None) -> Path:
    """Write the weights in fp16, the config JSON and (optionally) the model card.

    Args:
        model: the trained model.
        folder: destination folder, created if needed.
        training: facts about the run (steps, wall time, losses), stored in config.json.
        card: Markdown text of README.md.

    Returns:
        The folder.
    """
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().to(torch.float16).contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(path / WEIGHTS), metadata={"format": FORMAT})
    config = {
        "format": FORMAT,
        "model": model.config.to_dict(),
        "grid": {"steps_per_beat": STEPS_PER_BEAT, "window_steps": WINDOW_STEPS, "drums": list(DRUM_NAMES), "output_pitches": list(CLASS_OUTPUT_PITCHES)},
        "training": training,
    }
    (path / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    if card is not None:
        (path / CARD).write_text(card)
    return path


def read_config(folder: str | Path) -> dict[str, Any]:
    """The parsed config.json of a checkpoint folder.

    Raises:
        CheckpointError: when the folder or its config is missing or of another format.
    """
    path = Path(folder) / CONFIG
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"{folder}: not a groove checkpoint (no {CONFIG})") from error
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: invalid JSON ({error})") from error
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {config.get('format')!r}, expected {FORMAT!r}")
    return config


def load_vae(folder: str | Path) -> GrooveVAE:
    """Rebuild a model from a checkpoint folder, in float32 and eval mode."""
    config = read_config(folder)
    model = GrooveVAE(GrooveConfig(**config["model"]))
    try:
        state = load_file(str(Path(folder) / WEIGHTS))
    except FileNotFoundError as error:
        raise CheckpointError(f"{folder}: no {WEIGHTS}") from error
    try:
        model.load_state_dict({name: value.float() for name, value in state.items()})
    except RuntimeError as error:
        raise CheckpointError(f"{folder}: weights do not match the config ({error})") from error
    return model.eval()
