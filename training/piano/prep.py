"""`encore data piano`: the SMART preparation of the piano corpora, cached as token arrays.

Per file: keep the GM piano tracks (programs 0-7), merge them into one track, drop duplicated notes,
fix POP909's time signatures from its index, tokenize with REMI+, then drop files with more than 300
notes in a bar or more than 20% empty bars. Token arrays are cached per split; a second run with the
same settings reuses the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from miditok import REMI

from encore.models.errors import EncoreError
from encore.models.midi_io import is_piano_track, merge_tracks, read_score, set_time_signature
from encore.models.piano.tokenizer import RemiPlusSettings, build_tokenizer, save_tokenizer
from encore.training import paths
from encore.training.paths import SPLITS, default_data_root
from encore.training.piano.sources import PianoFile, list_corpus

PREP_VERSION = 1


@dataclass
class PrepConfig:
    """Settings of the preparation step; they (and the file list) name the cache folder."""

    data_root: Path = field(default_factory=default_data_root)
    sources: tuple[str, ...] = ("pop909", "piano_midi_de")
    max_notes_per_bar: int = 300
    max_empty_bar_fraction: float = 0.2
    cache_root: Path = field(default_factory=lambda: paths.cache_dir("piano"))
    workers: int = 2
    tokenizer: RemiPlusSettings = field(default_factory=RemiPlusSettings)

    def digest(self) -> str:
        """Short hash of everything that changes the cached arrays."""
        key = json.dumps(
            [PREP_VERSION, sorted(self.sources), self.max_notes_per_bar, self.max_empty_bar_fraction,
             repr(self.tokenizer)],
        )
        return hashlib.sha1(key.encode()).hexdigest()[:12]

    @property
    def cache_dir(self) -> Path:
        """Folder holding this configuration's cached arrays."""
        return self.cache_root / f"{'-'.join(sorted(self.sources))}-{self.digest()}"


@dataclass
class FileResult:
    """The outcome of preparing one file: its tokens, or why it was dropped."""

    file: PianoFile
    ids: np.ndarray | None
    reason: str = ""
    notes: int = 0
    seconds: float = 0.0


def bar_statistics(ids: np.ndarray, bar_id: int, pitch_ids: np.ndarray) -> tuple[int, float]:
    """Most notes in one bar, and the fraction of bars without notes, from a REMI token sequence."""
    bar_index = np.cumsum(ids == bar_id)
    bars = int(bar_index[-1]) if len(ids) else 0
    if bars == 0:
        return 0, 1.0
    notes_per_bar = np.bincount(bar_index[np.isin(ids, pitch_ids)], minlength=bars + 1)[1:]
    return int(notes_per_bar.max()), float(np.mean(notes_per_bar == 0))


_worker_tokenizers: dict[str, tuple[REMI, np.ndarray]] = {}


def _worker_tokenizer(settings: RemiPlusSettings) -> tuple[REMI, np.ndarray]:
    """This process's tokenizer for `settings` and its Pitch token ids, built once per settings."""
    key = repr(settings)
    if key not in _worker_tokenizers:
        tokenizer = build_tokenizer(settings)
        pitch_ids = np.array([i for token, i in tokenizer.vocab.items() if token.startswith("Pitch_")])
        _worker_tokenizers[key] = tokenizer, pitch_ids
    return _worker_tokenizers[key]


def prepare_file(file: PianoFile, config: PrepConfig) -> FileResult:
    """Load, merge, fix, tokenize and filter one file."""
    tokenizer, pitch_ids = _worker_tokenizer(config.tokenizer)
    try:
        score = merge_tracks(read_score(file.path), is_piano_track)
    except Exception as error:
        return FileResult(file, None, f"unreadable ({type(error).__name__})")
    notes = len(score.tracks[0].notes)
    if notes == 0:
        return FileResult(file, None, "no piano notes")
    if file.time_signature:
        set_time_signature(score, *file.time_signature)
    seconds = float(score.to("second").end())
    try:
        encoded = tokenizer.encode(score)
    except Exception as error:  # MidiTok fails on a few durations it has no token for
        return FileResult(file, None, f"tokenizer failed ({type(error).__name__})", notes, seconds)
    sequence = encoded[0] if isinstance(encoded, list) else encoded
    ids = np.asarray(sequence.ids, dtype=np.int64)
    most, empty = bar_statistics(ids, tokenizer.vocab["Bar_None"], pitch_ids)
    if most > config.max_notes_per_bar:
        return FileResult(file, None, f"more than {config.max_notes_per_bar} notes in a bar", notes, seconds)
    if empty > config.max_empty_bar_fraction:
        return FileResult(file, None, f"more than {config.max_empty_bar_fraction:.0%} empty bars", notes, seconds)
    bos = tokenizer.vocab["BOS_None"]
    return FileResult(file, np.concatenate([[bos], ids]).astype(np.uint16), "", notes, seconds)


def _prepare_star(args: tuple[PianoFile, PrepConfig]) -> FileResult:
    return prepare_file(*args)


def run_prep(config: PrepConfig, progress: bool = True) -> dict:
    """Prepare (or reuse) the cached splits and return the manifest with all counts."""
    manifest_path = config.cache_dir / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        manifest["reused_cache"] = True
        return manifest
    files = list_corpus(Path(config.data_root), config.sources)
    with get_context("fork").Pool(config.workers) as pool:
        results = pool.imap(_prepare_star, [(file, config) for file in files], chunksize=8)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(files), desc="preparing piano MIDI", unit="file")
        results = list(results)
    manifest = write_cache(config, results)
    manifest["reused_cache"] = False
    return manifest


def write_cache(config: PrepConfig, results: list[FileResult]) -> dict:
    """Write token arrays per split, the tokenizer and a manifest of counts."""
    folder = config.cache_dir
    folder.mkdir(parents=True, exist_ok=True)
    save_tokenizer(build_tokenizer(config.tokenizer), folder)
    manifest: dict = {"config": {**asdict(config), "data_root": str(config.data_root),
                                  "cache_root": str(config.cache_root), "tokenizer": repr(config.tokenizer)},
                      "splits": {}, "dropped": {}, "per_source": {}}
    manifest["dropped"] = dict(Counter(r.reason for r in results if r.ids is None))
    per_source: Counter = Counter()
    for result in results:
        per_source[(result.file.source, "kept" if result.ids is not None else "dropped")] += 1
    manifest["per_source"] = {f"{s} {k}": n for (s, k), n in sorted(per_source.items())}
    for split in SPLITS:
        kept = [r for r in results if r.ids is not None and r.file.split == split]
        arrays = [r.ids for r in kept]
        offsets = np.cumsum([0] + [len(a) for a in arrays]).astype(np.int64)
        tokens = np.concatenate(arrays) if arrays else np.zeros(0, np.uint16)
        np.save(folder / f"{split}_tokens.npy", tokens)
        np.save(folder / f"{split}_offsets.npy", offsets)
        (folder / f"{split}_files.txt").write_text("\n".join(str(r.file.path) for r in kept) + "\n")
        manifest["splits"][split] = {
            "files": len(kept),
            "pieces": len({r.file.piece for r in kept}),
            "tokens": int(len(tokens)),
            "hours": round(sum(r.seconds for r in kept) / 3600, 2),
        }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def load_split(cache_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The concatenated token array of a split and the offsets of its files.

    Raises:
        EncoreError: the split was not prepared in `cache_dir`.
    """
    cache_dir = Path(cache_dir)
    if not (cache_dir / f"{split}_tokens.npy").is_file():
        raise EncoreError(f"{cache_dir}: no prepared {split} split (run `encore data piano` first)")
    return np.load(cache_dir / f"{split}_tokens.npy"), np.load(cache_dir / f"{split}_offsets.npy")
