"""`encore plagiarism`'s work: one entry against the MIDI files under some folders, flagged pairs reported.

A flag is an (entry chunk, source file) pair whose best window in that file scores at least the
threshold; its source time is that window's start. The default thresholds come from the calibration
in `docs/plagiarism-calibration.json` (see docs/challenge.md): held-out music against the training
corpus gives at most one false flag per hour.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.training.challenge.chunks import ChunkConfig, stride_to_steps
from encore.training.challenge.corpus import Corpus, load_corpus, midi_files_under
from encore.training.challenge.plagiarism import Matches, Queries, SearchStats, read_entry, search

#: Calibrated NDTW thresholds (docs/plagiarism-calibration.json): pitch mode and transposition mode.
DEFAULT_THRESHOLD = 0.999015  # DTW <= 5 at T = 40
DEFAULT_TRANSPOSE_THRESHOLD = 0.999803  # DTW <= 1


def default_threshold(transpose: bool) -> float:
    """The calibrated threshold of a mode."""
    return DEFAULT_TRANSPOSE_THRESHOLD if transpose else DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Flag:
    """One flagged pair: where in the entry, where in which source, and its score."""

    entry_s: float
    source: str
    source_s: float
    ndtw: float


@dataclass
class CheckReport:
    """The outcome of one check."""

    entry: str
    threshold: float
    transpose: bool
    stride_s: float
    chunks: int
    skipped: int
    corpus_files: int
    corpus_windows: int
    corpus_unreadable: int
    seconds: float
    flags: list[Flag] = field(default_factory=list)
    stats: SearchStats = field(default_factory=SearchStats)

    @property
    def flagged_chunks(self) -> int:
        """Entry chunks with at least one flag."""
        return len({flag.entry_s for flag in self.flags})

    def lines(self) -> list[str]:
        """The human-readable report."""
        mode = "contours (transposition-invariant)" if self.transpose else "pitches"
        out = [
            f"{self.entry}: {self.chunks} chunks of 5 s at stride {self.stride_s:g} s; {self.skipped} left out "
            f"(too few onsets), {self.chunks - self.skipped} compared by {mode}",
            f"against {self.corpus_files} files ({self.corpus_windows} informative 5 s windows"
            + (f", {self.corpus_unreadable} unreadable files skipped" if self.corpus_unreadable else "")
            + f") at NDTW >= {self.threshold:g}, in {self.seconds:.1f} s",
        ]
        for flag in self.flags:
            out.append(f"FLAG entry {clock_text(flag.entry_s)}  {flag.source} at {clock_text(flag.source_s)}  "
                       f"NDTW {flag.ndtw:.4f}")
        out.append(f"{len(self.flags)} flagged pairs in {self.flagged_chunks} chunks" if self.flags
                   else "clean: no chunk reaches the threshold")
        return out


def clock_text(seconds: float) -> str:
    """Seconds as `m:ss.sss`, the time format of copy-check reports."""
    minutes, rest = divmod(float(seconds), 60.0)
    return f"{int(minutes)}:{rest:06.3f}"


def flags_from_matches(matches: Matches, queries: Queries, corpus: Corpus) -> list[Flag]:
    """The best window per (entry chunk, source file), sorted by entry time then score."""
    if not len(matches.query):
        return []
    file_index, source_s = corpus.locate(matches.start)
    order = np.lexsort((matches.start, matches.distance, file_index, matches.query))
    keys = np.stack([matches.query[order], file_index[order]], 1)
    first = np.concatenate([[True], np.any(keys[1:] != keys[:-1], axis=1)])
    chosen = order[first]
    scores = matches.ndtw
    flags = [Flag(float(queries.times_s[matches.query[i]]), corpus.files[file_index[i]], float(source_s[i]),
                  float(scores[i])) for i in chosen]
    return sorted(flags, key=lambda flag: (flag.entry_s, -flag.ndtw, flag.source))


def check_entry(entry: Path, against: Sequence[Path], threshold: float | None = None, stride_s: float = 5.0,
                transpose: bool = False, config: ChunkConfig | None = None, cache_root: Path | None = None,
                progress: bool = True, corpus: Corpus | None = None) -> CheckReport:
    """Check one entry file against every MIDI file under `against`.

    Raises:
        EncoreError: unreadable entry, a missing folder, no MIDI files, or a threshold outside (0, 1].
    """
    config = config or ChunkConfig()
    threshold = default_threshold(transpose) if threshold is None else float(threshold)
    if not 0.0 < threshold <= 1.0:
        raise EncoreError(f"--threshold must be in (0, 1], not {threshold}")
    started = time.perf_counter()
    queries = read_entry(Path(entry), config, stride_to_steps(stride_s, config))
    if corpus is None:
        files = midi_files_under(against)
        if not files:
            raise EncoreError(f"no MIDI files under {', '.join(str(a) for a in against)}")
        corpus = load_corpus(files, config, cache_root=cache_root, progress=progress)
    stats = SearchStats()
    matches = search(queries.windows, corpus, threshold, transpose=transpose, progress=progress, stats=stats)
    return CheckReport(str(entry), threshold, transpose, stride_s, queries.total, queries.skipped, len(corpus.files),
                       len(corpus.starts), len(corpus.unreadable), time.perf_counter() - started,
                       flags_from_matches(matches, queries, corpus), stats)
