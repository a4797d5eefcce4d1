"""The guard against the exact copy check: false positives and false negatives, set by set.

Every passage is one 5-second chunk of the copy check (`encore.training.challenge.chunks`; a file's
chunks cut from its whole step sequence, as `encore plagiarism` cuts an entry). The exact
check decides, in both its modes at their calibrated thresholds (a chunk is flagged when either mode
flags it against the training files of the cache); the guard decides on the notes starting inside the
chunk, in beats (`FingerprintIndex.match`). A chunk the copy check leaves out (too few top-line onsets)
is counted apart.

Sets: planted copies of training chunks (exact; transposed by 1 to 5 semitones; transposed and
re-timed), chunks of held-out pieces (the cache's test split, POP909's `versions/` left out as the
calibration does), and chunks of MIDI files the model wrote (`--generated`, one set per folder).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from encore.models.notes import NoteEvent
from encore.models.originality.index import FingerprintIndex
from encore.training.challenge.check import default_threshold
from encore.training.challenge.chunks import (
    ChunkConfig,
    ChunkInputError,
    chunk_starts,
    informative_windows,
    notes_to_steps,
)
from encore.training.challenge.corpus import Corpus, load_corpus
from encore.training.challenge.plagiarism import search
from encore.training.guard.build import SplitReader, split_files
from encore.training.guard.passages import TimedPassage, planted_copy, read_timed, retimed

SEMITONES = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)


@dataclass
class MeasureConfig:
    """What the measurement reads and how many passages of each kind it draws."""

    cache_dir: Path
    index_path: Path
    generated: tuple[Path, ...] = ()
    copies: int = 200
    jitter_s: float = 0.03
    held_out_chunks: int = 1000
    seed: int = 0
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    corpus_cache: Path | None = None  # the copy check's corpus cache (default .cache/plagiarism)


@dataclass
class SetResult:
    """One set's counts: chunks compared, left out, flagged by the exact check, by the guard, by both."""

    name: str
    chunks: int = 0
    skipped: int = 0
    exact: int = 0
    guard: int = 0
    both: int = 0

    @property
    def false_positives(self) -> int:
        """Chunks the guard flags and the exact check does not."""
        return self.guard - self.both

    @property
    def false_negatives(self) -> int:
        """Chunks the exact check flags and the guard does not."""
        return self.exact - self.both

    def row(self) -> str:
        """A markdown table row."""
        negatives, positives = self.chunks - self.exact, self.exact
        fp = f"{self.false_positives} ({self.false_positives / negatives:.1%})" if negatives else "-"
        fn = f"{self.false_negatives} ({self.false_negatives / positives:.1%})" if positives else "-"
        return f"| {self.name} | {self.chunks} | {self.skipped} | {self.exact} | {self.guard} | {fp} | {fn} |"


TABLE_HEAD = ("| set | chunks | left out | exact check flags | guard flags | guard only (FP) | exact only (FN) |\n"
              "|---|---:|---:|---:|---:|---:|---:|")


@dataclass
class Queries:
    """The chunks of one set: copy-check step windows and the guard's notes."""

    windows: list[np.ndarray] = field(default_factory=list)
    notes: list[list[NoteEvent]] = field(default_factory=list)
    skipped: int = 0

    def add(self, passage: TimedPassage, start_s: float, config: ChunkConfig) -> None:
        """Add the chunk of `passage` at `start_s`, or count it left out when it is not informative."""
        inside = (passage.end_s > start_s) & (passage.onset_s < start_s + config.chunk_s + 1.0)
        sequence = notes_to_steps(np.maximum(passage.onset_s[inside] - start_s, 0.0), passage.end_s[inside] - start_s,
                                  passage.pitch[inside], config.step_s) if inside.any() else None
        if sequence is None or len(sequence) < config.steps or not informative_windows(sequence, config)[0]:
            self.skipped += 1
            return
        self.windows.append(sequence.values[: config.steps])
        self.notes.append(passage.chunk_notes(start_s, config))


def planted_sets(corpus: Corpus, reader: SplitReader, config: MeasureConfig,
                 rng: np.random.Generator) -> dict[str, Queries]:
    """Exact, transposed, and transposed + re-timed copies of the same training chunks, cut from the notes
    the model learned (`reader`, the split the corpus was read from)."""
    picked = np.sort(rng.choice(corpus.starts, config.copies, replace=False))
    file_index, start_s = corpus.locate(picked)
    sets = {"planted: exact copies": Queries(), "planted: transposed": Queries(),
            f"planted: transposed + re-timed ({config.jitter_s * 1000:g} ms)": Queries()}
    sources: dict[int, TimedPassage] = {}
    position = {name: index for index, name in enumerate(reader.files)}
    for index, start in zip(file_index.tolist(), start_s.tolist(), strict=True):
        if index not in sources:
            name = corpus.files[index]
            sources[index] = retimed(reader.notes(position[name]), read_timed(Path(name)))
        semitones = int(rng.choice(SEMITONES))
        for queries, shift, jitter in zip(sets.values(), (0, semitones, semitones), (0.0, 0.0, config.jitter_s),
                                          strict=True):
            queries.add(planted_copy(sources[index], start, config.chunk, shift, jitter, rng), 0.0, config.chunk)
    return sets


def file_chunks(paths: Sequence[Path], config: ChunkConfig, limit: int | None, rng: np.random.Generator) -> Queries:
    """The informative chunks at a one-chunk stride of every readable file, cut as the copy check cuts an
    entry (the whole file's steps), and the notes starting in each; at most `limit`, drawn at random."""
    cut: list[tuple[TimedPassage, int, np.ndarray | None]] = []
    for path in paths:
        try:
            passage = read_timed(path)
        except ChunkInputError:
            continue
        if not len(passage):
            continue
        sequence = notes_to_steps(passage.onset_s, passage.end_s, passage.pitch, config.step_s)
        informative = informative_windows(sequence, config)
        cut += [(passage, int(start), sequence.values[start : start + config.steps] if informative[start] else None)
                for start in chunk_starts(len(sequence), config.steps, config.steps)]
    if limit is not None and len(cut) > limit:
        cut = [cut[i] for i in np.sort(rng.choice(len(cut), limit, replace=False))]
    queries = Queries()
    for passage, start, window in cut:
        if window is None:
            queries.skipped += 1
            continue
        queries.windows.append(window)
        queries.notes.append(passage.chunk_notes(start * config.step_s, config))
    return queries


def generated_sets(paths: Sequence[Path]) -> dict[str, list[Path]]:
    """The model's MIDI files by folder (a folder given: its `.mid` files), one set each."""
    sets: dict[str, list[Path]] = {}
    for path in map(Path, paths):
        files = sorted(path.glob("*.mid")) if path.is_dir() else [path]
        for file in files:
            sets.setdefault(file.parent.name, []).append(file)
    return sets


def exact_flags(windows: np.ndarray, corpus: Corpus) -> np.ndarray:
    """Whether the exact check flags each window in either mode at its calibrated threshold."""
    flagged = np.zeros(len(windows), bool)
    for transpose in (False, True):
        matches = search(windows, corpus, default_threshold(transpose), transpose=transpose)
        flagged[matches.query] = True
    return flagged


def measure(config: MeasureConfig, progress: bool = True) -> tuple[list[SetResult], np.ndarray]:
    """Every set's counts, and the guard's seconds per check over all chunks."""
    rng = np.random.default_rng(config.seed)
    index = FingerprintIndex.load(config.index_path)
    reader = SplitReader(config.cache_dir, "train")
    corpus = load_corpus([Path(f) for f in reader.files], config.chunk, config.corpus_cache, progress=progress)
    test, _, _ = split_files(config.cache_dir, "test")
    sets = planted_sets(corpus, reader, config, rng)
    sets["held-out pieces (test split)"] = file_chunks([Path(f) for f in test if Path(f).parent.name != "versions"],
                                                       config.chunk, config.held_out_chunks, rng)
    for folder, files in generated_sets(config.generated).items():
        sets[f"model output: {folder}"] = file_chunks(files, config.chunk, None, rng)
    results, costs = [], []
    for name, queries in sets.items():
        result = SetResult(name, len(queries.windows), queries.skipped)
        if queries.windows:
            exact = exact_flags(np.stack(queries.windows), corpus)
            guard = np.zeros(len(exact), bool)
            for row, notes in enumerate(queries.notes):
                started = time.perf_counter()
                guard[row] = index.match(notes).matched
                costs.append(time.perf_counter() - started)
            result.exact, result.guard, result.both = int(exact.sum()), int(guard.sum()), int((exact & guard).sum())
        results.append(result)
    return results, np.array(costs)
