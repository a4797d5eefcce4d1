"""The arena's exported votes as training data for the preference scorer.

`read_votes` reads `encore arena export` JSON lines (`stage/arena/export.py`: each side's chunk with its
MIDI path and length, and `winner` a, b or draw) into a list of distinct chunks and votes on them; a bad
line is one error naming the file and line. `split_votes` holds out a seeded share of the votes (by vote:
a chunk may appear on both sides of the split). `ChunkMels` renders each chunk's MIDI through GRPO's
renderer, cuts it into crops of GRPO's length and keeps their log-mels, cached in the run folder by chunk
(file size and time) so more votes later render only the new chunks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import torch

from encore.models.errors import EncoreError
from encore.training.challenge.report import notes_from_midi
from encore.training.grpo.mel import LogMel
from encore.training.grpo.render import RenderConfig, Renderer
from encore.training.grpo.timing import TimedNote

WINNER_TARGETS = {"a": 1.0, "draw": 0.5, "b": 0.0}
"""P(A beats B) each answer asks for: a draw is half a win for each side."""
RENDER_BATCH = 16


@dataclass(frozen=True)
class VotedChunk:
    """A chunk that took part in a vote: its MIDI file and its length in seconds."""

    midi: Path
    length_s: float


@dataclass(frozen=True)
class PairVote:
    """One vote: chunk indices of A and B, and the target P(A beats B)."""

    a: int
    b: int
    target: float

    @property
    def decisive(self) -> bool:
        """A vote for A or for B, not a draw."""
        return self.target != 0.5


@dataclass
class VoteSet:
    """The distinct chunks of an export and its votes on them."""

    chunks: list[VotedChunk]
    votes: list[PairVote]


def _side(record: dict, side: str, where: str) -> VotedChunk:
    chunk = record.get(side)
    if not isinstance(chunk, dict) or "midi" not in chunk or "length_s" not in chunk:
        raise EncoreError(f"{where}: {side!r} must name the chunk's midi and length_s")
    midi = Path(chunk["midi"])
    if not midi.is_file():
        raise EncoreError(f"{where}: chunk MIDI {midi} not found "
                          "(export from the arena whose chunks are there)")
    length_s = chunk["length_s"]
    if not isinstance(length_s, int | float) or not 0 < length_s < math.inf:
        raise EncoreError(f"{where}: {side}.length_s must be a positive number, got {length_s!r}")
    return VotedChunk(midi.resolve(), float(length_s))


def read_votes(path: Path) -> VoteSet:
    """The votes of an arena export.

    Raises:
        EncoreError: no file, no votes, or a line that is not a vote (named `FILE:LINE`).
    """
    path = Path(path)
    if not path.is_file():
        raise EncoreError(f"{path}: no such file (write one with `encore arena export --out {path}`)")
    index: dict[VotedChunk, int] = {}
    votes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise EncoreError(f"{where}: not JSON ({error.msg})") from None
        if not isinstance(record, dict) or record.get("winner") not in WINNER_TARGETS:
            winner = record.get("winner") if isinstance(record, dict) else None
            raise EncoreError(f"{where}: winner must be a, b or draw, got {winner!r}")
        a, b = (index.setdefault(_side(record, side, where), len(index)) for side in ("a", "b"))
        votes.append(PairVote(a, b, WINNER_TARGETS[record["winner"]]))
    if len(votes) < 2:
        raise EncoreError(f"{path}: {len(votes)} vote(s); training needs at least 2 (vote with "
                          "`encore arena serve` or `encore arena judge`, then `encore arena export`)")
    return VoteSet(list(index), votes)


def split_votes(count: int, held_out_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded (train, held-out) vote indices; at least one of each for two or more votes."""
    order = np.random.default_rng(seed).permutation(count).tolist()
    held = min(count - 1, max(1, round(count * held_out_fraction)))
    return sorted(order[held:]), sorted(order[:held])


def chunk_notes(midi: Path) -> list[TimedNote]:
    """A chunk's notes from its MIDI file, in seconds from its start, as the renderer takes them."""
    return [TimedNote(n.onset_s, n.pitch, n.velocity, n.end_s - n.onset_s)
            for n in notes_from_midi(mido.MidiFile(midi))]


def crops_of(length_s: float, crop_s: float) -> int:
    """Whole crops in a chunk (a chunk shorter than one crop is one crop, ending in silence)."""
    return max(1, math.floor(length_s / crop_s + 1e-9))


class ChunkMels:
    """Log-mels (fp16) of every chunk's crops, rendered once and cached in `cache_path`.

    Attributes:
        mels: (crops, n_mels, frames) all crops, chunk by chunk.
        offsets: (chunks + 1,) chunk `i`'s crops are `mels[offsets[i]:offsets[i + 1]]`.
    """

    def __init__(self, chunks: Sequence[VotedChunk], render: RenderConfig, mel: LogMel,
                 cache_path: Path) -> None:
        settings = {"soundfont": str(render.soundfont), "sample_rate": render.sample_rate,
                    "crop_s": render.crop_s, "gain": render.gain, "mel": mel.config.to_dict()}
        cache = torch.load(cache_path, weights_only=True) if cache_path.is_file() else {}
        stored = cache.get("chunks", {}) if cache.get("settings") == settings else {}
        keys = [_cache_key(chunk) for chunk in chunks]
        missing = [chunk for chunk, key in zip(chunks, keys, strict=True) if key not in stored]
        if missing:
            print(f"preference data: rendering {len(missing)} chunks ({len(chunks) - len(missing)} cached)")
            stored.update(_render(missing, render, mel))
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"settings": settings, "chunks": stored}, cache_path)
        parts = [stored[key] for key in keys]
        self.mels = torch.cat(parts)
        self.offsets = torch.tensor([0, *np.cumsum([len(part) for part in parts]).tolist()])

    def sample(self, chunk_ids: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """One crop of each of `chunk_ids`, drawn at random: (len(chunk_ids), n_mels, frames)."""
        starts, ends = self.offsets[chunk_ids].numpy(), self.offsets[chunk_ids + 1].numpy()
        return self.mels[torch.from_numpy(rng.integers(starts, ends))]

    def owners(self) -> torch.Tensor:
        """(crops,) the chunk of each crop."""
        return torch.arange(len(self.offsets) - 1).repeat_interleave(self.offsets.diff())


def _cache_key(chunk: VotedChunk) -> str:
    stat = chunk.midi.stat()
    return f"{chunk.midi}|{chunk.length_s:.3f}|{stat.st_size}|{stat.st_mtime_ns}"


def _render(chunks: Sequence[VotedChunk], render: RenderConfig, mel: LogMel) -> dict[str, torch.Tensor]:
    """Each chunk's crops' log-mels: the chunk rendered whole, then cut, so notes ring across crops."""
    from tqdm import tqdm

    frames = render.frames
    longest = max(crops_of(chunk.length_s, render.crop_s) for chunk in chunks)
    whole = RenderConfig(soundfont=render.soundfont, sample_rate=render.sample_rate,
                         crop_s=longest * render.crop_s, gain=render.gain, workers=render.workers)
    out = {}
    with Renderer(whole) as renderer, tqdm(total=len(chunks), desc="render chunks", unit="chunk") as progress:
        for first in range(0, len(chunks), RENDER_BATCH):
            batch = chunks[first:first + RENDER_BATCH]
            audio = torch.from_numpy(renderer.render([chunk_notes(chunk.midi) for chunk in batch]).audio)
            for chunk, piece in zip(batch, audio, strict=True):
                count = crops_of(chunk.length_s, render.crop_s)
                with torch.no_grad():
                    out[_cache_key(chunk)] = mel(piece[:count * frames].reshape(count, frames)).half()
            progress.update(len(batch))
    return out
