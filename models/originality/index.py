"""The fingerprint index of a corpus: which pieces hold each n-gram hash, and the query of a passage.

In memory it is one sorted uint64 array of unique keys `hash << 16 | piece` (a hash common in a piece is
stored once for it). On disk (`save`, `load`) it is one deflated `.npz`: the hashes as uint32 steps from
one key to the next, the piece of each key as uint16, the piece names and the `FingerprintConfig` as
JSON. Nothing in it can be played: see `fingerprints`.

A query reads a passage's top line, looks up the hash of each of its n-grams, and finds *runs*:
consecutive n-grams of the passage all found in one piece. The longest run decides: at least
`min_run` n-grams is a match.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig, ngram_hashes
from encore.models.originality.melody import TopLine, passage_top_line

PIECE_BITS = 16
PIECE_MASK = (1 << PIECE_BITS) - 1
INDEX_FILE = "fingerprints.npz"
"""The index's file name beside a checkpoint."""
FORMAT_VERSION = 1


class FingerprintIndexError(EncoreError):
    """An index file that is missing or cannot be read."""


@dataclass(frozen=True)
class Run:
    """Consecutive n-grams of a passage all found in one piece.

    Attributes:
        piece: The piece's index in `FingerprintIndex.pieces`.
        first: Index of the run's first n-gram (= its first top-line note).
        length: N-grams in the run.
    """

    piece: int
    first: int
    length: int


@dataclass(frozen=True)
class Match:
    """How much of a passage one training piece holds: the longest run, and the decision.

    Attributes:
        matched: The longest run reaches `min_run`.
        piece: Name of the piece of the longest run (None when no n-gram is found anywhere).
        run_notes: Top-line notes the longest run covers (0 without one).
        start_beats: Onset of the run's first note (None without one).
        end_beats: Onset of the run's last note (None without one).
        share: Of the passage's informative n-grams, the fraction found in that piece.
    """

    matched: bool
    piece: str | None = None
    run_notes: int = 0
    start_beats: float | None = None
    end_beats: float | None = None
    share: float = 0.0


class FingerprintIndex:
    """Sorted keys `hash << 16 | piece` of a corpus, its piece names and its config.

    Args:
        keys: Unique sorted uint64 keys.
        pieces: Piece names, by index.
        config: How the hashes were made.
    """

    def __init__(self, keys: np.ndarray, pieces: Sequence[str], config: FingerprintConfig) -> None:
        self.keys = np.asarray(keys, np.uint64)
        self.pieces = list(pieces)
        self.config = config

    @classmethod
    def from_hashes(cls, hashes: Sequence[np.ndarray], pieces: Sequence[str], config: FingerprintConfig) -> FingerprintIndex:
        """An index of the hashes of each piece (`hashes[i]` belongs to `pieces[i]`)."""
        if len(pieces) >= 1 << PIECE_BITS:
            raise ValueError(f"at most {(1 << PIECE_BITS) - 1} pieces, got {len(pieces)}")
        keys = [(np.asarray(h, np.uint64) << np.uint64(PIECE_BITS)) | np.uint64(i) for i, h in enumerate(hashes)]
        return cls(np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.uint64), pieces, config)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes the keys hold in memory."""
        return int(self.keys.nbytes)

    def save(self, path: Path) -> Path:
        """Write the index (see the module docstring); returns `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        steps = np.diff(self.keys >> np.uint64(PIECE_BITS), prepend=np.uint64(0)).astype(np.uint32)
        pieces = (self.keys & np.uint64(PIECE_MASK)).astype(np.uint16)
        meta = {"version": FORMAT_VERSION, "config": self.config.to_dict(), "pieces": self.pieces}
        with path.open("wb") as handle:
            np.savez_compressed(handle, hash_steps=steps, pieces=pieces,
                                meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
        return path

    @classmethod
    def load(cls, path: Path) -> FingerprintIndex:
        """Read an index written by `save`.

        Raises:
            FingerprintIndexError: the file is missing, not an index, or of another format version.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                keys = np.cumsum(data["hash_steps"], dtype=np.uint64)
                keys <<= np.uint64(PIECE_BITS)
                keys |= data["pieces"]
            if meta.get("version") != FORMAT_VERSION:
                raise FingerprintIndexError(f"{path}: index format {meta.get('version')}, expected {FORMAT_VERSION}")
            return cls(keys, meta["pieces"], FingerprintConfig(**meta["config"]))
        except FileNotFoundError:
            raise FingerprintIndexError(f"{path}: no fingerprint index (run `encore guard build`)") from None
        except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as error:
            raise FingerprintIndexError(f"{path}: not a fingerprint index ({error})") from None

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in `hashes`, piece) such that the piece holds that hash."""
        low = np.asarray(hashes, np.uint64) << np.uint64(PIECE_BITS)
        begin = np.searchsorted(self.keys, low, side="left")
        end = np.searchsorted(self.keys, low | np.uint64(PIECE_MASK), side="right")
        counts = end - begin
        positions = np.repeat(np.arange(len(low)), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        pieces = (self.keys[np.repeat(begin, counts) + offsets] & np.uint64(PIECE_MASK)).astype(np.int64)
        return positions, pieces

    def runs(self, line: TopLine) -> list[Run]:
        """Every maximal run of consecutive informative n-grams of `line` found in one piece."""
        return self._runs(*ngram_hashes(line, self.config))

    def _runs(self, hashes: np.ndarray, informative: np.ndarray) -> list[Run]:
        where = np.flatnonzero(informative)
        positions, pieces = self.lookup(hashes[where])
        if not len(positions):
            return []
        positions = where[positions]
        order = np.lexsort((positions, pieces))
        positions, pieces = positions[order], pieces[order]
        breaks = np.flatnonzero((np.diff(pieces) != 0) | (np.diff(positions) != 1)) + 1
        starts = np.concatenate([[0], breaks])
        lengths = np.diff(np.append(starts, len(positions)))
        return [Run(int(pieces[s]), int(positions[s]), int(n)) for s, n in zip(starts, lengths, strict=True)]

    def match_line(self, line: TopLine) -> Match:
        """The longest run of a top line and the decision (see `Match`)."""
        hashes, informative = ngram_hashes(line, self.config)
        runs = self._runs(hashes, informative)
        if not runs:
            return Match(False)
        best = max(runs, key=lambda run: (run.length, -run.first))
        found = sum(run.length for run in runs if run.piece == best.piece)
        last = best.first + best.length + self.config.ngram_notes - 2
        return Match(best.length >= self.config.min_run, self.pieces[best.piece], last - best.first + 1,
                     float(line.onset_beats[best.first]), float(line.onset_beats[last]), found / max(1, int(informative.sum())))

    def match(self, notes: Sequence[NoteEvent]) -> Match:
        """Does one training piece hold a run of `min_run` n-grams of this passage? (see `Match`)"""
        return self.match_line(passage_top_line(notes, self.config.grid_beats))
