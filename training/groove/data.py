"""Groove MIDI Dataset to two-bar training windows, cached on disk.

`encore data groove` (or `encore groove data`) reads `groove/info.csv` under the data root, keeps the 4/4
files, puts each file's channel-10 notes on the 16th-note grid (`encore.models.groove.grid`) and cuts two-bar
windows with a one-bar hop, in the dataset's own train / validation / test split. Windows without a single
hit are dropped. The arrays go to `.cache/groove/<split>-<key>.npz` (key: a hash of the format and the
data file list), so a second run reads the cache.

Each cache file holds `hits` (uint8), `velocities` and `offsets` (float16), all (windows, 32, 9), and
per window the source row in info.csv (`file_index`), the start step, the bpm and the style.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.models.groove.drum_map import DRUM_CHANNEL, NUM_DRUMS
from encore.models.groove.grid import HOP_STEPS, WINDOW_STEPS, drum_loop, onsets, read_midi
from encore.training.paths import REPO_ROOT, SPLITS, default_data_root

#: Bump when the window format changes, to invalidate caches.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class GrooveFile:
    """One row of info.csv that we use."""

    index: int
    path: Path
    split: str
    style: str
    bpm: int
    beat_type: str
    drummer: str


@dataclass
class WindowSet:
    """The windows of one split, as numpy arrays (see module docstring)."""

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    file_index: np.ndarray
    start: np.ndarray
    bpm: np.ndarray
    style: np.ndarray

    def __len__(self) -> int:
        return int(self.hits.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields as a dict, ready for `np.savez`."""
        return dict(self.__dict__)


def read_info(groove_dir: Path) -> list[GrooveFile]:
    """The 4/4 rows of `info.csv` in `groove_dir`.

    Raises:
        EncoreError: when info.csv is missing.
    """
    info = groove_dir / "info.csv"
    if not info.is_file():
        raise EncoreError(f"{info}: not found; pass --data-root or set ENCORE_DATA to the folder holding groove/")
    files = []
    with info.open(newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if row["time_signature"] != "4-4":
                continue
            files.append(
                GrooveFile(
                    index=index,
                    path=groove_dir / row["midi_filename"],
                    split=row["split"],
                    style=row["style"].split("/")[0],
                    bpm=int(row["bpm"]),
                    beat_type=row["beat_type"],
                    drummer=row["drummer"],
                )
            )
    return files


def file_windows(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two-bar windows (one-bar hop) of one file that contain at least one hit.

    Returns:
        hits, velocities, offsets, each (windows, 32, 9), and the start step of each window.
    """
    midi = read_midi(str(path))
    loop = drum_loop([n for n in onsets(midi) if n.channel == DRUM_CHANNEL], midi.ticks_per_beat)
    starts = [s for s in range(0, loop.steps - WINDOW_STEPS + 1, HOP_STEPS) if loop.hits[s : s + WINDOW_STEPS].any()]
    if not starts:
        empty = np.zeros((0, WINDOW_STEPS, loop.hits.shape[1]), np.float32)
        return empty, empty, empty, np.zeros(0, np.int64)
    stack = [np.stack([a[s : s + WINDOW_STEPS] for s in starts]) for a in (loop.hits, loop.velocities, loop.offsets)]
    return stack[0], stack[1], stack[2], np.asarray(starts, np.int64)


def build_split(files: list[GrooveFile]) -> WindowSet:
    """Windows of every given file, concatenated."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("hits", "velocities", "offsets", "file_index", "start", "bpm", "style")}
    for item in files:
        hits, velocities, offsets, starts = file_windows(item.path)
        count = len(starts)
        parts["hits"].append(hits.astype(np.uint8))
        parts["velocities"].append(velocities.astype(np.float16))
        parts["offsets"].append(offsets.astype(np.float16))
        parts["file_index"].append(np.full(count, item.index, np.int32))
        parts["start"].append(starts.astype(np.int32))
        parts["bpm"].append(np.full(count, item.bpm, np.int16))
        parts["style"].append(np.full(count, item.style, dtype="<U16"))
    if not files:
        empty = np.zeros((0, WINDOW_STEPS, NUM_DRUMS))
        return WindowSet(empty.astype(np.uint8), empty.astype(np.float16), empty.astype(np.float16), *(np.zeros(0, t) for t in (np.int32, np.int32, np.int16, "<U16")))
    return WindowSet(**{k: np.concatenate(v) for k, v in parts.items()})


def cache_key(files: list[GrooveFile]) -> str:
    """Short hash of the format version and the file list with sizes."""
    digest = hashlib.sha1(f"v{FORMAT_VERSION}".encode())
    for item in files:
        digest.update(f"{item.path.name}:{item.split}:{item.path.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def load_windows(
    data_root: Path | None = None, cache_dir: Path | None = None, rebuild: bool = False
) -> tuple[dict[str, WindowSet], bool]:
    """Windows of every split, from the cache when present.

    Args:
        data_root: folder holding `groove/`; defaults to `default_data_root()`.
        cache_dir: cache folder; defaults to `.cache/groove` in the repository.
        rebuild: ignore an existing cache.

    Returns:
        The window sets by split, and whether they came from the cache.
    """
    files = read_info(Path(data_root or default_data_root()) / "groove")
    cache = Path(cache_dir or REPO_ROOT / ".cache" / "groove")
    key = cache_key(files)
    paths = {split: cache / f"{split}-{key}.npz" for split in SPLITS}
    if not rebuild and all(p.is_file() for p in paths.values()):
        sets = {}
        for split, path in paths.items():
            with np.load(path) as data:
                sets[split] = WindowSet(**{k: data[k] for k in data.files})
        return sets, True
    cache.mkdir(parents=True, exist_ok=True)
    sets = {split: build_split([f for f in files if f.split == split]) for split in SPLITS}
    for split, path in paths.items():
        np.savez_compressed(path, **sets[split].arrays())
    return sets, False
