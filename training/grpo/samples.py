"""Sample files of `encore grpo-compare`: a model's completions, or real piano, in one .npz each.

`generate_samples` draws procedural prompts, or prompts cut from a prepared split (`PromptMaker`, seeded:
the same seed gives every model the same prompts), and samples completions with the batched KV-cached
sampler (`sample_rollouts`). `real_samples` writes the same kind of file from real piano: stretches of a
prepared split, each behind a procedural-style prompt with its own time signature and tempo, so that
models can be set beside the music they learned from; `real_continuations` writes, for the split prompts
of a seed, what really followed each (the continuation the models are set beside). The .npz
holds `tokens` (N, prompt + new tokens), `prompt_length`, the tokenizer's JSON and the settings, so a
file is read back with nothing else (`load_samples`, which decodes and measures each completion).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from miditok import REMI

from encore.models.errors import EncoreError
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.grammar import GrammarTables
from encore.models.piano.streaming_decoder import TokenTable
from encore.models.piano.tokenizer import TOKENIZER_FILE, load_tokenizer, save_tokenizer
from encore.training.grpo import features as ft
from encore.training.grpo.prompts import PromptBatch, PromptMaker
from encore.training.grpo.rollout import sample_rollouts
from encore.training.piano.prep import load_split


@dataclass(frozen=True)
class GenerationConfig:
    """How `generate_samples` samples.

    Attributes:
        count: completions to sample.
        batch: completions sampled together through one KV cache.
        new_tokens: tokens per completion.
        temperature: sampling temperature (no top-p, as in GRPO's rollouts).
        seed: seed of the prompts and of the sampler.
        tempo_range: bpm range of the procedural prompts' Tempo tokens (GRPO's default).
        prompts: `procedural`, or `split`: prompts cut from a prepared split (needs its folder).
        prompt_tokens: length of a split prompt (GRPO's default).
        split: the split prompts are cut from (held out by default).
    """

    count: int = 1000
    batch: int = 250
    new_tokens: int = 256
    temperature: float = 1.0
    seed: int = 0
    tempo_range: tuple[float, float] = (60.0, 180.0)
    prompts: str = "procedural"
    prompt_tokens: int = 64
    split: str = "validation"

    def __post_init__(self) -> None:
        if self.prompts not in ("procedural", "split"):
            raise EncoreError(f"prompts must be procedural or split (got {self.prompts!r})")
        for name in ("count", "batch", "new_tokens"):
            if getattr(self, name) < 1:
                raise EncoreError(f"{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})")
        if not self.temperature > 0:
            raise EncoreError(f"temperature must be positive (got {self.temperature})")


def split_prompts(tokenizer: REMI, cache_dir: Path, config: GenerationConfig) -> PromptBatch:
    """`config.count` prompts cut from `config.split`, each with the `config.new_tokens` tokens that followed
    it in its file (prompts too near a file's end are drawn again); the same for a seed.

    Raises:
        EncoreError: no prepared split, or one whose files are all too short.
    """
    maker = PromptMaker(tokenizer, config.seed, cache_dir=Path(cache_dir), prompt_tokens=config.prompt_tokens,
                        split=config.split)
    rows: list[torch.Tensor] = []
    continuations: list[list[int]] = []
    for _ in range(100):
        drawn = maker.from_split(config.count, config.new_tokens)
        for row, continuation in zip(drawn.tokens, drawn.continuations or [], strict=True):
            if len(continuation) == config.new_tokens and len(rows) < config.count:
                rows.append(row)
                continuations.append(continuation)
        if len(rows) == config.count:
            return PromptBatch(torch.stack(rows), "split", continuations)
    raise EncoreError(f"the {config.split} split has too few bars with {config.prompt_tokens + config.new_tokens} "
                      "tokens after them in their file")


def generate_samples(bundle: PianoBundle, out: Path, config: GenerationConfig, model_name: str,
                     progress: bool = True, cache_dir: Path | None = None) -> Path:
    """Sample `config.count` completions of the configured prompts on the bundle's device and save them to `out`.

    Raises:
        EncoreError: prompt and completion do not fit the model's context; split prompts without prepared data.
    """
    from tqdm import tqdm

    tables = GrammarTables(TokenTable.from_tokenizer(bundle.tokenizer))
    if config.prompts == "split":
        if cache_dir is None:
            raise EncoreError("split prompts need prepared piano data (encore data piano)")
        batches = split_prompts(bundle.tokenizer, cache_dir, config).tokens.split(config.batch)
    else:  # drawn batch by batch, as sample files written before split prompts existed were
        maker = PromptMaker(bundle.tokenizer, config.seed, config.tempo_range)
        batches = (maker.procedural(min(config.batch, config.count - start))
                   for start in range(0, config.count, config.batch))
    generator = torch.Generator(device=bundle.device).manual_seed(config.seed)
    rows: list[np.ndarray] = []
    with tqdm(total=config.count, desc=f"sampling {model_name}", unit="sample", disable=not progress) as bar:
        for batch in batches:
            try:
                rollouts = sample_rollouts(bundle.model, tables, batch, config.new_tokens, config.temperature,
                                           generator)
            except ValueError as error:
                raise EncoreError(str(error)) from None
            rows.append(rollouts.sequences.cpu().numpy().astype(np.int32))
            bar.update(len(batch))
    settings = {**asdict(config), "model": model_name}
    return _save_samples(out, bundle.tokenizer, np.concatenate(rows), config.new_tokens, settings)


def _save_samples(out: Path, tokenizer: REMI, rows: np.ndarray, new_tokens: int, settings: dict) -> Path:
    """Write a sample file (see module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        tokenizer_json = save_tokenizer(tokenizer, Path(folder)).read_text()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as file:  # a file object: np.savez would append .npz to a name without it
        np.savez_compressed(file, tokens=rows, prompt_length=np.int32(rows.shape[1] - new_tokens),
                            tokenizer=np.array(tokenizer_json), settings=np.array(json.dumps(settings)))
    return out


def real_samples(tokenizer: REMI, cache_dir: Path, out: Path, count: int = 1000, new_tokens: int = 256,
                 seed: int = 1, split: str = "validation") -> Path:
    """Write `count` stretches of real piano from a prepared split as a sample file.

    Each row is `BOS Bar TimeSig Position_0 Tempo` (the bar's own time signature and the last tempo set in
    its file before it) followed by the `new_tokens` tokens after that Bar and TimeSig, inside one file.
    Bars are drawn at random without repeats (seeded).

    Raises:
        EncoreError: no prepared split, or fewer usable bars than `count`.
    """
    tokens, offsets = load_split(Path(cache_dir), split)
    vocab = tokenizer.vocab
    bos, bar, position0 = vocab["BOS_None"], vocab["Bar_None"], vocab["Position_0"]
    time_signatures = np.isin(tokens, [i for name, i in vocab.items() if name.startswith("TimeSig_")])
    tempo_at = np.flatnonzero(np.isin(tokens, [i for name, i in vocab.items() if name.startswith("Tempo_")]))
    rows: list[list[int]] = []
    for start in np.random.default_rng(seed).permutation(np.flatnonzero(tokens == bar)):
        file = np.searchsorted(offsets, start, side="right") - 1
        body = slice(start + 2, start + 2 + new_tokens)
        tempo = np.searchsorted(tempo_at, start) - 1  # the last Tempo before the bar
        if body.stop > offsets[file + 1] or not time_signatures[start + 1] or tempo < 0 or tempo_at[tempo] < offsets[file]:
            continue
        rows.append([bos, bar, int(tokens[start + 1]), position0, int(tokens[tempo_at[tempo]]), *tokens[body].tolist()])
        if len(rows) == count:
            break
    if len(rows) < count:
        raise EncoreError(f"the {split} split has {len(rows)} bars with {new_tokens} tokens after them and a tempo "
                          f"before them in their file; asked for {count}")
    settings = {"count": count, "new_tokens": new_tokens, "seed": seed, "model": f"real ({split} split)", "prompts": split}
    return _save_samples(out, tokenizer, np.asarray(rows, np.int32), new_tokens, settings)


def real_continuations(tokenizer: REMI, cache_dir: Path, out: Path, config: GenerationConfig) -> Path:
    """Write what really followed each split prompt that `generate_samples` draws with `config` (same seed,
    same rows), as a sample file.

    Raises:
        EncoreError: no prepared split, or one whose files are all too short.
    """
    drawn = split_prompts(tokenizer, cache_dir, config)
    rows = [prompt + continuation for prompt, continuation in zip(drawn.tokens.tolist(), drawn.continuations or [],
                                                                   strict=True)]
    settings = {**asdict(config), "model": f"real continuations ({config.split} split)"}
    return _save_samples(out, tokenizer, np.asarray(rows, np.int32), config.new_tokens, settings)


@dataclass
class SampleSet:
    """One model's samples, decoded and measured.

    Attributes:
        label: the model's name in the figures and tables.
        settings: how the samples were generated (`GenerationConfig` fields, `model`, `prompts`).
        pieces: per-piece features, one per completion.
        pitches: the pitch of every note of every completion.
        velocities: the velocity of every note of every completion.
        rolls: (N, 89, 64) binarised opening piano rolls (`features.opening_roll`).
    """

    label: str
    settings: dict
    pieces: list[ft.PieceFeatures]
    pitches: np.ndarray
    velocities: np.ndarray
    rolls: np.ndarray

    def values(self, name: str) -> np.ndarray:
        """All notes' `pitch` or `velocity`, or one `PieceFeatures` field per piece (NaN dropped)."""
        if name in ("pitch", "velocity"):
            return self.pitches if name == "pitch" else self.velocities
        values = np.array([getattr(piece, name) for piece in self.pieces], dtype=np.float64)
        return values[~np.isnan(values)]


def load_samples(label: str, path: Path) -> SampleSet:
    """Read a `generate_samples` file and measure every completion.

    Raises:
        EncoreError: the file is missing or is not a sample file.
    """
    if not path.is_file():
        raise EncoreError(f"{path}: no such sample file (write one with `encore grpo-compare generate`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            tokens, prompt_length = data["tokens"], int(data["prompt_length"])
            tokenizer_json, settings = str(data["tokenizer"]), json.loads(str(data["settings"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise EncoreError(f"{path}: not a grpo-compare sample file ({error})") from None
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / TOKENIZER_FILE).write_text(tokenizer_json)
        table = TokenTable.from_tokenizer(load_tokenizer(Path(folder)))
    pieces, rolls, pitches, velocities = [], [], [], []
    for row in tokens.tolist():
        notes = ft.completion_notes(table, row, prompt_length)
        pieces.append(ft.piece_features(notes, ft.prompt_tempo_qpm(table, row[:prompt_length])))
        rolls.append(ft.opening_roll(notes))
        pitches.extend(n.pitch for n in notes)
        velocities.extend(n.velocity for n in notes)
    return SampleSet(label, settings, pieces, np.array(pitches, dtype=np.float64),
                     np.array(velocities, dtype=np.float64), np.stack(rolls))
