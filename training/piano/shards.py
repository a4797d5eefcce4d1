"""A run's state and its prepared data in few, small files: what travels to a lent GPU and back.

The device tool carries at most 64 MiB there (code, data and the weights to resume from) and brings
back at most 8 files of 16 MiB. So:
- `pack_cache` / `unpack_cache`: a prepared piano cache as one compressed `.npz` (REMI+ token arrays
  compress about 6x: the v2 corpus's 21.4 M training tokens take about 7 MB);
- `save_state_shards` / `load_state_shards`: a resumable training state (the trainer's `train_state.pt`
  dictionary) as safetensors shards of at most `SHARD_BYTES`: fp32 weights, Adam's moments in bf16
  (their range is fp32's; three significant digits are plenty for a step size), and the rest (step,
  history, sampler state, config) as JSON in the first shard's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, safe_open, save_file

SHARD_BYTES = 15 * 2**20
"""Payload per shard, leaving room under the device's 16 MiB for the header."""

MAX_SHARDS = 8
_TEXT_SUFFIXES = (".json", ".txt")


def pack_cache(cache_dir: Path, target: Path) -> Path:
    """Write every file of a prepared cache (arrays and text) into one compressed `.npz`."""
    cache_dir = Path(cache_dir)
    arrays = {"name": np.frombuffer(cache_dir.name.encode(), dtype=np.uint8)}
    for path in sorted(cache_dir.iterdir()):
        if path.suffix == ".npy":
            arrays[f"npy/{path.name}"] = np.load(path)
        elif path.suffix in _TEXT_SUFFIXES:
            arrays[f"text/{path.name}"] = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **arrays)
    return target


def unpack_cache(source: Path, cache_root: Path) -> Path:
    """Recreate a packed cache under `cache_root` (same folder name, same files); return its folder."""
    with np.load(source) as packed:
        folder = Path(cache_root) / packed["name"].tobytes().decode()
        folder.mkdir(parents=True, exist_ok=True)
        for key in packed.files:
            kind, _, name = key.partition("/")
            if kind == "npy":
                np.save(folder / name, packed[key])
            elif kind == "text":
                (folder / name).write_bytes(packed[key].tobytes())
    return folder


def _state_tensors(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {f"model/{name}": value.detach().float().cpu() for name, value in state["model"].items()}
    adam_steps = {}
    for index, moments in state["optimizer"]["state"].items():
        adam_steps[str(index)] = float(moments["step"])
        for moment in ("exp_avg", "exp_avg_sq"):
            tensors[f"adam/{index}/{moment}"] = moments[moment].detach().to("cpu", torch.bfloat16)
    rest = {key: value for key, value in state.items() if key not in ("model", "optimizer", "rng")}
    rest["param_groups"] = state["optimizer"]["param_groups"]
    rest["adam_steps"] = adam_steps
    rest["rng"] = [generator.bit_generator.state for generator in state["rng"]]
    return tensors, rest


def save_state_shards(state: dict, folder: Path, max_bytes: int = SHARD_BYTES) -> list[Path]:
    """Write a training state as shards `state-K.safetensors`; return their paths.

    Raises:
        ValueError: the state needs more than `MAX_SHARDS` shards.
    """
    tensors, rest = _state_tensors(state)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in tensors.items():
        nbytes = tensor.numel() * tensor.element_size()
        if size + nbytes > max_bytes and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][name] = tensor.contiguous()
        size += nbytes
    if len(shards) > MAX_SHARDS:
        raise ValueError(f"the state needs {len(shards)} shards of {max_bytes} bytes, more than {MAX_SHARDS}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("state-*.safetensors"):
        old.unlink()
    paths = []
    for index, shard in enumerate(shards):
        path = folder / f"state-{index}.safetensors"
        metadata = {"shards": str(len(shards))}
        if index == 0:
            metadata["state"] = json.dumps(rest, default=str)
        save_file(shard, path.with_suffix(".tmp"), metadata=metadata)
        path.with_suffix(".tmp").replace(path)
        paths.append(path)
    return paths


def has_state_shards(folder: Path | None) -> bool:
    """Whether `folder` holds a complete set of state shards."""
    if folder is None or not (Path(folder) / "state-0.safetensors").is_file():
        return False
    with safe_open(str(Path(folder) / "state-0.safetensors"), "pt") as first:
        count = int(first.metadata()["shards"])
    return all((Path(folder) / f"state-{index}.safetensors").is_file() for index in range(count))


def load_state_shards(folder: Path, device: torch.device | str = "cpu") -> dict:
    """The training state dictionary written by `save_state_shards` (moments back in fp32)."""
    folder = Path(folder)
    with safe_open(str(folder / "state-0.safetensors"), "pt") as first:
        metadata = first.metadata()
    rest = json.loads(metadata["state"])
    tensors: dict[str, torch.Tensor] = {}
    for index in range(int(metadata["shards"])):
        tensors.update(load_file(str(folder / f"state-{index}.safetensors"), device=str(device)))
    model = {name.removeprefix("model/"): value for name, value in tensors.items() if name.startswith("model/")}
    moments: dict[int, dict] = {}
    for index, step in rest.pop("adam_steps").items():
        moments[int(index)] = {"step": torch.tensor(step),
                               **{m: tensors[f"adam/{index}/{m}"].float() for m in ("exp_avg", "exp_avg_sq")}}
    rngs = []
    for saved in rest.pop("rng"):
        generator = np.random.default_rng()
        generator.bit_generator.state = saved
        rngs.append(generator)
    optimizer = {"state": moments, "param_groups": rest.pop("param_groups")}
    return {**rest, "model": model, "optimizer": optimizer, "rng": rngs}
