"""`encore data piano`: the SMART preparation of the piano corpora, cached as token arrays.

Per file: keep the GM piano tracks (programs 0-7), merge them into one track, drop duplicated notes,
fix POP909's time signatures from its index, tokenize with REMI+, then drop files with more than 300
notes in a bar or more than 20% empty bars. Token arrays are cached per split; a second run with the
same settings reuses the cache.

With roles (the v2 vocabulary, `PrepConfig.v2`), a file of a source with a performer's part (POP909's
MELODY, a Lied's voice) is, for half of the files (a fixed hash of the path), laid out with that part
marked as the performer's (`encore.training.piano.roles`); the other half read as solo piano as in v1
(POP909's tracks merged, a Lied's voice dropped). Each file's style (its source's kind) is kept beside
the tokens for the sampler to put after BOS.
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
from symusic import Score

from encore.models.errors import EncoreError
from encore.models.midi_io import is_piano_track, merge_tracks, read_score, set_time_signature
from encore.models.piano.tokenizer import STYLES, RemiPlusSettings, build_tokenizer, save_tokenizer
from encore.training import paths
from encore.training.paths import SPLITS, default_data_root
from encore.training.piano.roles import encode_roles, program_tokenizer
from encore.training.piano.sources import PERFORMER_TRACK, STYLE_OF_SOURCE, V2_SOURCES, PianoFile, list_corpus

PREP_VERSION = 1
ROLES_LAYOUT_VERSION = 2
"""Bumped when the v2 layout (`encore.training.piano.roles`) changes, so older v2 caches are not reused."""


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
    roles: bool = False
    marked_fraction: float = 0.5

    @classmethod
    def v2(cls, **overrides) -> PrepConfig:
        """The v2 preparation: the permissive corpora, roles marked, the v2 vocabulary."""
        return cls(**{"sources": V2_SOURCES, "roles": True, "tokenizer": RemiPlusSettings.with_roles(), **overrides})

    def digest(self) -> str:
        """Short hash of everything that changes the cached arrays."""
        key = [PREP_VERSION, sorted(self.sources), self.max_notes_per_bar, self.max_empty_bar_fraction,
               repr(self.tokenizer)]
        if self.roles:
            key += ["roles", ROLES_LAYOUT_VERSION, self.marked_fraction]
        return hashlib.sha1(json.dumps(key).encode()).hexdigest()[:12]

    def marks_performer(self, file: PianoFile) -> bool:
        """Whether `file` is laid out with its performer's part marked (fixed by a hash of its path)."""
        if not self.roles or file.source not in PERFORMER_TRACK:
            return False
        bucket = int(hashlib.md5(str(file.path.name).encode("utf-8")).hexdigest(), 16) % 1000
        return bucket < 1000 * self.marked_fraction

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
    marked: bool = False


def bar_statistics(ids: np.ndarray, bar_id: int, pitch_ids: np.ndarray) -> tuple[int, float]:
    """Most notes in one bar, and the fraction of bars without notes, from a REMI token sequence."""
    bar_index = np.cumsum(ids == bar_id)
    bars = int(bar_index[-1]) if len(ids) else 0
    if bars == 0:
        return 0, 1.0
    notes_per_bar = np.bincount(bar_index[np.isin(ids, pitch_ids)], minlength=bars + 1)[1:]
    return int(notes_per_bar.max()), float(np.mean(notes_per_bar == 0))


_worker_tokenizers: dict[str, tuple[REMI, REMI, np.ndarray]] = {}


def _worker_tokenizer(settings: RemiPlusSettings) -> tuple[REMI, REMI, np.ndarray]:
    """This process's tokenizer for `settings`, its two-role twin and its Pitch ids, built once per settings."""
    key = repr(settings)
    if key not in _worker_tokenizers:
        tokenizer = build_tokenizer(settings)
        pitch_ids = np.array([i for token, i in tokenizer.vocab.items() if token.startswith("Pitch_")])
        _worker_tokenizers[key] = tokenizer, program_tokenizer(settings), pitch_ids
    return _worker_tokenizers[key]


def _parts(file: PianoFile, marked: bool) -> tuple[Score, Score | None]:
    """The file's own part (one merged piano track) and, when `marked`, the performer's part."""
    raw = read_score(file.path)
    if not marked:
        return merge_tracks(raw, is_piano_track), None
    lead = PERFORMER_TRACK[file.source]
    return (merge_tracks(raw, lambda track: is_piano_track(track) and track.name != lead),
            merge_tracks(raw, lambda track: track.name == lead))


def prepare_file(file: PianoFile, config: PrepConfig) -> FileResult:
    """Load, merge, fix, tokenize and filter one file."""
    tokenizer, programs, pitch_ids = _worker_tokenizer(config.tokenizer)
    marked = config.marks_performer(file)
    try:
        score, performer = _parts(file, marked)
    except Exception as error:
        return FileResult(file, None, f"unreadable ({type(error).__name__})")
    notes = len(score.tracks[0].notes) + (len(performer.tracks[0].notes) if performer else 0)
    if len(score.tracks[0].notes) == 0:
        return FileResult(file, None, "no piano notes")
    if file.time_signature:
        set_time_signature(score, *file.time_signature)
    seconds = float(score.to("second").end())
    try:
        if config.roles:
            ids = encode_roles(score, score.tracks[0], performer.tracks[0] if performer else None, tokenizer, programs)
        else:
            encoded = tokenizer.encode(score)
            ids = np.asarray((encoded[0] if isinstance(encoded, list) else encoded).ids, dtype=np.int64)
    except Exception as error:  # MidiTok fails on a few durations it has no token for
        return FileResult(file, None, f"tokenizer failed ({type(error).__name__})", notes, seconds)
    most, empty = bar_statistics(ids, tokenizer.vocab["Bar_None"], pitch_ids)
    if most > config.max_notes_per_bar:
        return FileResult(file, None, f"more than {config.max_notes_per_bar} notes in a bar", notes, seconds)
    if empty > config.max_empty_bar_fraction:
        return FileResult(file, None, f"more than {config.max_empty_bar_fraction:.0%} empty bars", notes, seconds)
    bos = tokenizer.vocab["BOS_None"]
    return FileResult(file, np.concatenate([[bos], ids]).astype(np.uint16), "", notes, seconds, marked)


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
        if config.roles:
            np.save(folder / f"{split}_styles.npy",
                    np.array([STYLES.index(STYLE_OF_SOURCE[r.file.source]) for r in kept], dtype=np.int8))
        (folder / f"{split}_files.txt").write_text("\n".join(str(r.file.path) for r in kept) + "\n")
        (folder / f"{split}_sources.txt").write_text("\n".join(r.file.source for r in kept) + "\n")
        manifest["splits"][split] = {
            "files": len(kept),
            "pieces": len({r.file.piece for r in kept}),
            "tokens": int(len(tokens)),
            "hours": round(sum(r.seconds for r in kept) / 3600, 2),
            "marked": sum(r.marked for r in kept),
            "per_source": dict(Counter(r.file.source for r in kept)),
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


def load_sources(cache_dir: Path, split: str) -> list[str]:
    """The source of each file of a split, in the order of its token arrays."""
    return (Path(cache_dir) / f"{split}_sources.txt").read_text().split()


def load_styles(cache_dir: Path, split: str) -> np.ndarray | None:
    """The style index (into `STYLES`) of each file of a split, or None for a cache without roles."""
    path = Path(cache_dir) / f"{split}_styles.npy"
    return np.load(path) if path.is_file() else None
