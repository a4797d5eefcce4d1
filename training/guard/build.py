"""Building the fingerprint index of a prepared piano cache (`encore guard build`).

Each file of a split is decoded from its token array by the engine's own streaming decoder, with the
tokenizer saved in the cache, so the index sees the notes exactly as the model learned them (on the
tokenizer's grid, in beats). Files of one piece share its name: POP909's `versions/` fold into their
song, so a hash found in three versions of a song is stored once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig, ngram_hashes
from encore.models.originality.index import FingerprintIndex
from encore.models.originality.melody import note_arrays, top_line
from encore.models.piano.streaming_decoder import StreamingDecoder, TokenTable
from encore.models.piano.tokenizer import TOKENIZER_FILE, load_tokenizer


@dataclass(frozen=True)
class BuildStats:
    """What a build read and wrote."""

    files: int
    pieces: int
    notes: int
    top_line_notes: int
    keys: int
    seconds: float


def piece_name(path: str | Path, data_root: Path | None = None) -> str:
    """`source/piece` of a corpus file: its first folder under `data_root` (else its parent folder) and its
    stem, or for a file in a `versions/` folder the song folder above it (`pop909/001`)."""
    path = Path(path)
    source = path.parent.name
    if data_root is not None and path.is_relative_to(data_root):
        source = path.relative_to(data_root).parts[0]
    if path.parent.name == "versions":
        return f"{source}/{path.parent.parent.name}"
    return f"{source}/{path.stem}"


def split_files(cache_dir: Path, split: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The file names, token array and offsets of a prepared split.

    Raises:
        EncoreError: the cache has no such split.
    """
    cache_dir = Path(cache_dir)
    tokens_path = cache_dir / f"{split}_tokens.npy"
    if not tokens_path.is_file():
        raise EncoreError(f"{cache_dir}: no prepared {split} split (run `encore data piano` first)")
    offsets = np.load(cache_dir / f"{split}_offsets.npy")
    files = [line for line in (cache_dir / f"{split}_files.txt").read_text().splitlines() if line]
    if len(files) != len(offsets) - 1:
        raise EncoreError(f"{cache_dir}: {len(files)} files listed for {len(offsets) - 1} token arrays")
    return files, np.load(tokens_path, mmap_mode="r"), offsets


class SplitReader:
    """The files of a prepared split, each decoded from its tokens on demand.

    Raises:
        EncoreError: the cache has no such split.
    """

    def __init__(self, cache_dir: Path, split: str = "train") -> None:
        self.files, self._tokens, self._offsets = split_files(cache_dir, split)
        if not (Path(cache_dir) / TOKENIZER_FILE).is_file():
            raise EncoreError(f"{cache_dir}: no {TOKENIZER_FILE} (run `encore data piano` again)")
        self.table = TokenTable.from_tokenizer(load_tokenizer(Path(cache_dir)))

    def __len__(self) -> int:
        return len(self.files)

    def notes(self, index: int) -> list[NoteEvent]:
        """The notes of file `index`, in beats from its start, as the model learned them."""
        ids = self._tokens[self._offsets[index] : self._offsets[index + 1]].tolist()
        return StreamingDecoder(self.table).feed_many(ids)

    def __iter__(self) -> Iterator[tuple[str, list[NoteEvent]]]:
        return ((name, self.notes(index)) for index, name in enumerate(self.files))


def cache_data_root(cache_dir: Path) -> Path | None:
    """The data root a cache was prepared from (its manifest), if it says."""
    manifest = Path(cache_dir) / "manifest.json"
    if not manifest.is_file():
        return None
    root = json.loads(manifest.read_text()).get("config", {}).get("data_root")
    return Path(root) if root else None


def build_index(cache_dir: Path, config: FingerprintConfig | None = None, split: str = "train",
                progress: bool = True) -> tuple[FingerprintIndex, BuildStats]:
    """The fingerprint index of a prepared cache's split, and what the build read.

    Raises:
        EncoreError: the cache has no such split.
    """
    config = config or FingerprintConfig()
    started = time.perf_counter()
    data_root = cache_data_root(cache_dir)
    reader = SplitReader(cache_dir, split)
    hashes: dict[str, list[np.ndarray]] = {}
    notes_read = line_notes = 0
    decoded: Iterable[tuple[str, list[NoteEvent]]] = reader
    if progress:
        from tqdm import tqdm

        decoded = tqdm(reader, total=len(reader), desc=f"fingerprinting {split}", unit="file", dynamic_ncols=True)
    for name, notes in decoded:
        line = top_line(*note_arrays(notes), config.grid_beats)
        found, informative = ngram_hashes(line, config)
        hashes.setdefault(piece_name(name, data_root), []).append(found[informative])
        notes_read += len(notes)
        line_notes += len(line)
    pieces = sorted(hashes)
    index = FingerprintIndex.from_hashes([np.concatenate(hashes[piece]) for piece in pieces], pieces, config)
    return index, BuildStats(len(reader), len(pieces), notes_read, line_notes, len(index),
                             time.perf_counter() - started)
