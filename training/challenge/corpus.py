"""The copy check's reference corpus: every MIDI file under some folders as step sequences, cached.

All files' step sequences are concatenated into one array with per-file offsets; its informative
5-second windows, one per step, are the chunks an entry is compared with. The arrays are cached as
`.cache/plagiarism/<hash>.npz`, keyed by the file list (paths, sizes, modification times) and the
step length, so a second check against the same folders reads them back in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.training import paths
from encore.training.challenge.chunks import (
    ChunkConfig,
    ChunkInputError,
    StepSequence,
    informative_windows,
    lower_median,
    read_steps,
)

CORPUS_VERSION = 2
MIDI_SUFFIXES = (".mid", ".midi")


def midi_files_under(folders: Iterable[Path]) -> list[Path]:
    """Every .mid/.midi file under the folders (recursively), sorted; a missing folder is an error."""
    files: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if folder.is_file() and folder.suffix.lower() in MIDI_SUFFIXES:
            files.add(folder)
            continue
        if not folder.is_dir():
            raise EncoreError(f"{folder}: no such folder")
        files.update(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    return sorted(files)


@dataclass
class Corpus:
    """Concatenated step sequences of many files and the starts of their informative windows."""

    files: list[str]
    offsets: np.ndarray  # (n_files + 1,) int64 into values
    values: np.ndarray  # uint8
    onsets: np.ndarray  # uint8
    config: ChunkConfig
    unreadable: list[str] = field(default_factory=list)
    starts: np.ndarray = field(init=False)  # global start step of every informative window
    uninformative: int = field(init=False)
    _medians: np.ndarray | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        width = self.config.steps
        starts, skipped = [], 0
        for index in range(len(self.files)):
            begin, end = int(self.offsets[index]), int(self.offsets[index + 1])
            if end - begin < width:
                continue
            keep = informative_windows(StepSequence(self.values[begin:end], self.onsets[begin:end]), self.config)
            skipped += int((~keep).sum())
            starts.append(begin + np.flatnonzero(keep))
        self.starts = np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)
        self.uninformative = skipped

    @property
    def hours(self) -> float:
        """Total length of the sequences in hours."""
        return len(self.values) * self.config.step_s / 3600

    def locate(self, global_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """File index and start time in seconds of global window starts."""
        index = np.searchsorted(self.offsets, global_starts, side="right") - 1
        return index, (global_starts - self.offsets[index]) * self.config.step_s

    def window_medians(self) -> np.ndarray:
        """Lower median of every informative window (the transposition mode's reference pitch), int32."""
        if self._medians is None:
            blocks = [lower_median(self.windows(self.starts[i : i + 65536]))
                      for i in range(0, len(self.starts), 65536)]
            self._medians = np.concatenate(blocks).astype(np.int32) if blocks else np.zeros(0, np.int32)
        return self._medians

    def windows(self, global_starts: np.ndarray) -> np.ndarray:
        """(n, T) uint8 windows at the given global starts."""
        return self.values[np.asarray(global_starts)[:, None] + np.arange(self.config.steps)]


def _read(args: tuple[str, ChunkConfig]) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        sequence = read_steps(Path(args[0]), args[1])
    except ChunkInputError:
        return None
    return sequence.values, sequence.onsets


def cache_key(files: Sequence[Path], config: ChunkConfig) -> str:
    """Hash of the file list (path, size, mtime) and the step length."""
    listing = [(str(Path(f).resolve()), *(lambda s: (s.st_size, s.st_mtime_ns))(Path(f).stat())) for f in files]
    key = json.dumps([CORPUS_VERSION, config.step_s, listing])
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def load_corpus(files: Sequence[Path], config: ChunkConfig, cache_root: Path | None = None,
                workers: int = 2, progress: bool = True, use_cache: bool = True) -> Corpus:
    """Step sequences of `files`, read from the cache or built (in `workers` processes) and cached."""
    files = [Path(f) for f in files]
    cache_root = Path(cache_root) if cache_root is not None else paths.cache_dir("plagiarism")
    cache_file = cache_root / f"{cache_key(files, config)}.npz"
    if use_cache and cache_file.is_file():
        data = np.load(cache_file, allow_pickle=False)
        return Corpus([str(f) for f in data["files"]], data["offsets"], data["values"], data["onsets"], config,
                      [str(f) for f in data["unreadable"]])
    jobs = [(str(f), config) for f in files]
    if workers > 1 and len(jobs) > 8:
        with get_context("fork").Pool(workers) as pool:
            results = _progress(pool.imap(_read, jobs, chunksize=8), len(jobs), progress)
            results = list(results)
    else:
        results = list(_progress(map(_read, jobs), len(jobs), progress))
    kept = [(str(f), r) for f, r in zip(files, results, strict=True) if r is not None]
    unreadable = [str(f) for f, r in zip(files, results, strict=True) if r is None]
    lengths = [len(r[0]) for _, r in kept]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate([r[0] for _, r in kept]) if kept else np.zeros(0, np.uint8)
    onsets = np.concatenate([r[1] for _, r in kept]) if kept else np.zeros(0, np.uint8)
    names = [name for name, _ in kept]
    if use_cache:
        cache_root.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".tmp.npz")
        np.savez(partial, files=np.array(names, dtype=str), offsets=offsets, values=values, onsets=onsets,
                 unreadable=np.array(unreadable, dtype=str))
        partial.replace(cache_file)
    return Corpus(names, offsets, values.astype(np.uint8), onsets.astype(np.uint8), config, unreadable)


def _progress(iterable: Iterable, total: int, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="reading corpus MIDI", unit="file")
