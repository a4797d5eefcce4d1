"""The copy check: every chunk of an entry against every informative window of a corpus, by NDTW.

`search` returns every (query chunk, corpus window) pair whose banded NDTW is at least a threshold, and
it is exact: a pair is only dropped when a lower bound of its DTW proves it scores below the threshold.
With D = (1 - threshold) 127 T, the stages for each query chunk, vectorized with numpy over the
corpus windows:

1. Candidates from an index. For D < T / 2 (thresholds above 0.996 at T = 40), the pigeonhole key
   index (`key_index`): only windows whose values, at every step of one of D + 1 disjoint step groups,
   are among the query's values within the band there. Otherwise a grid over the sums of the windows' four 10-step quarters
   (`paa_index`), refined with LB_PAA over eight 5-step segments.
2. LB_set (each window value against the query values within the band), then LB_Keogh with the
   corpus's envelope (a sliding min/max over the whole corpus array, wider than each window's own, so
   still a bound).
3. Banded DTW on the survivors, batched across queries; keep DTW <= D.

Each bound is <= DTW_r (see `ndtw` and `paa_index`), so nothing that scores >= threshold is lost:
`brute_force` computes the same pairs by DTW on every pair, and the tests compare the two.

In transposition mode every chunk is compared as its contour: pitch minus the chunk's lower median,
so a transposed copy has exactly the contour of its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.training.challenge.chunks import (
    ChunkConfig,
    StepSequence,
    chunk_starts,
    informative_windows,
    lower_median,
    read_steps,
)
from encore.training.challenge.corpus import Corpus
from encore.training.challenge.key_index import KeyIndex, key_groups
from encore.training.challenge.ndtw import (
    dtw_banded,
    envelope,
    lb_keogh,
    lb_set,
    max_distance,
    ndtw_from_distance,
)
from encore.training.challenge.paa_index import GridIndex, box_gap, row_sums, segment_bounds, window_sums

#: Segments of the grid index (sums of 10 steps) and of the finer bound (sums of 5 steps).
COARSE_SEGMENTS = 4
FINE_SEGMENTS = 8
#: Side of a grid cell in summed pitch units.
GRID_CELL = 24
DTW_BATCH = 65536
#: Steps per key of the pigeonhole index, at most: contours (mostly near 0) need longer keys to be selective.
KEY_STEPS = 4
CONTOUR_KEY_STEPS = 6


@dataclass
class Queries:
    """The chunks of one entry that are compared, and how many were left out."""

    starts: np.ndarray  # start step of each compared chunk
    windows: np.ndarray  # (Q, T) uint8
    total: int  # chunks cut, informative or not
    config: ChunkConfig

    @property
    def skipped(self) -> int:
        """Chunks left out for too few onsets."""
        return self.total - len(self.starts)

    @property
    def times_s(self) -> np.ndarray:
        """Entry time in seconds of each compared chunk."""
        return self.starts * self.config.step_s


def entry_queries(sequence: StepSequence, config: ChunkConfig, stride_steps: int) -> Queries:
    """The informative chunks of an entry at the given stride."""
    starts = chunk_starts(len(sequence), stride_steps, config.steps)
    informative = informative_windows(sequence, config)
    keep = starts[informative[starts]] if len(starts) else starts
    windows = sequence.values[keep[:, None] + np.arange(config.steps)] if len(keep) else np.zeros((0, config.steps), np.uint8)
    return Queries(keep, windows, len(starts), config)


def read_entry(path: Path, config: ChunkConfig, stride_steps: int) -> Queries:
    """An entry file's chunks, timed as the grader times it (120 bpm from the ticks)."""
    return entry_queries(read_steps(path, config, grader_time=True), config, stride_steps)


@dataclass
class Matches:
    """Pairs scoring at least the threshold: query index, corpus global start, DTW distance."""

    query: np.ndarray
    start: np.ndarray
    distance: np.ndarray
    steps: int

    @property
    def ndtw(self) -> np.ndarray:
        """NDTW score of each pair."""
        return ndtw_from_distance(self.distance, self.steps)

    def best_per_query(self, count: int) -> np.ndarray:
        """Highest NDTW per query (NaN where nothing reached the threshold)."""
        best = np.full(count, np.nan)
        if len(self.query):
            order = np.argsort(self.distance, kind="stable")[::-1]
            best[self.query[order]] = self.ndtw[order]
        return best


@dataclass
class SearchStats:
    """How much each stage kept: for the benchmark and the report."""

    pairs: int = 0
    screened: int = 0
    after_keogh: int = 0
    dtw: int = 0


def _contours(windows: np.ndarray) -> np.ndarray:
    windows = windows.astype(np.int16)
    return windows - lower_median(windows)[:, None]


def search(queries: np.ndarray, corpus: Corpus, threshold: float, transpose: bool = False,
           progress: bool = False, stats: SearchStats | None = None) -> Matches:
    """Every pair of a query chunk and a corpus window with banded NDTW >= threshold (exact).

    Args:
        queries: (Q, T) step values of the chunks to check.
        corpus: The reference windows.
        threshold: NDTW threshold.
        transpose: Compare contours (pitch minus the chunk's lower median) instead of pitches.
        progress: Show a tqdm bar over the queries.
        stats: Filled with the number of pairs each stage kept, when given.
    """
    config = corpus.config
    steps, band = config.steps, config.band_steps
    limit = int(np.floor(max_distance(threshold, steps) + 1e-9))
    stats = stats if stats is not None else SearchStats()
    x = (_contours(queries) if transpose else queries.astype(np.int16)).astype(np.int32)
    lower, upper = envelope(x, band)
    coarse, fine = segment_bounds(steps, COARSE_SEGMENTS), segment_bounds(steps, FINE_SEGMENTS)
    coarse_low, coarse_high = row_sums(lower, coarse), row_sums(upper, coarse)
    fine_low, fine_high = row_sums(lower, fine), row_sums(upper, fine)

    starts = corpus.starts
    medians = corpus.window_medians() if transpose else np.zeros(len(starts), np.int32)
    groups = key_groups(steps, limit, CONTOUR_KEY_STEPS if transpose else KEY_STEPS)
    if groups is not None:
        keys = KeyIndex(corpus.values, starts, medians, groups)
        candidates = lambda qi: keys.query(x[qi], band)  # noqa: E731
    else:
        prefix = np.concatenate([[0], np.cumsum(corpus.values, dtype=np.int64)])
        grid = GridIndex(window_sums(prefix, starts, coarse) - np.diff(coarse)[None, :] * medians[:, None], GRID_CELL)
        fine_lengths = np.diff(fine)[None, :]

        def candidates(qi: int) -> np.ndarray:
            rows = grid.query(coarse_low[qi], coarse_high[qi], limit)
            points = window_sums(prefix, starts[rows], fine) - fine_lengths * medians[rows][:, None]
            return rows[box_gap(points, fine_low[qi], fine_high[qi]) <= limit]
    corpus_lower, corpus_upper = envelope(corpus.values.astype(np.int16), band)
    columns = np.arange(steps)

    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    pending_size = 0
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        nonlocal pending, pending_size
        if not pending:
            return
        q = np.concatenate([p[0] for p in pending])
        rows = np.concatenate([p[1] for p in pending])
        y = np.concatenate([p[2] for p in pending])
        distance = dtw_banded(x[q], y, band)
        stats.dtw += len(q)
        hit = distance <= limit
        found.append((q[hit], starts[rows[hit]], distance[hit]))
        pending, pending_size = [], 0

    query_range = range(len(x))
    if progress:
        from tqdm import tqdm

        query_range = tqdm(query_range, desc="comparing chunks", unit="chunk")
    for qi in query_range:
        rows = candidates(qi)
        stats.screened += len(rows)
        if not len(rows):
            continue
        window_index = starts[rows][:, None] + columns
        shift = medians[rows][:, None]
        y = corpus.values[window_index].astype(np.int32) - shift
        keep = lb_set(x[qi], y, band) <= limit
        rows, y, window_index, shift = rows[keep], y[keep], window_index[keep], shift[keep]
        if len(rows):
            bound = lb_keogh(x[qi], corpus_lower[window_index] - shift, corpus_upper[window_index] - shift)
            keep = bound <= limit
            rows, y = rows[keep], y[keep]
        stats.after_keogh += len(rows)
        if len(rows):
            pending.append((np.full(len(rows), qi, np.int64), rows, y))
            pending_size += len(rows)
            if pending_size >= DTW_BATCH:
                flush()
    flush()
    stats.pairs += len(x) * len(starts)
    if not found:
        empty = np.zeros(0, np.int64)
        return Matches(empty, empty, empty, steps)
    return Matches(*(np.concatenate([f[i] for f in found]).astype(np.int64) for i in range(3)), steps)


def brute_force(queries: np.ndarray, corpus: Corpus, threshold: float, transpose: bool = False) -> Matches:
    """The same answer as `search` by DTW on every pair, with no bound: the reference for tests."""
    config = corpus.config
    steps = config.steps
    limit = int(np.floor(max_distance(threshold, steps) + 1e-9))
    x = _contours(queries) if transpose else queries.astype(np.int16)
    y = corpus.windows(corpus.starts).astype(np.int32)
    if transpose:
        y = y - corpus.window_medians()[:, None]
    q_index = np.repeat(np.arange(len(x)), len(y))
    c_index = np.tile(np.arange(len(y)), len(x))
    distance = dtw_banded(x[q_index], y[c_index], config.band_steps)
    hit = distance <= limit
    return Matches(q_index[hit], corpus.starts[c_index[hit]], distance[hit], steps)
