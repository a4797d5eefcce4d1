"""A grid index over piecewise sums of windows, for exact range queries under an L1 budget.

LB_Keogh summed over a segment is at least the distance of the segment's sum to the sum of its envelope
(a sum of positive parts is at least the positive part of the sum), so for segments s

    DTW_r(x, y) >= LB_Keogh >= LB_PAA = sum_s dist(sum_{j in s} y_j, [sum_{j in s} L_j, sum_{j in s} U_j]).

`GridIndex` buckets windows by their segment sums (a few segments, cells of `cell` units) and answers
"every window whose LB_PAA against this box can be <= budget" by measuring the gap from the box to each
occupied cell: a window in a cell is at least that gap away, so no qualifying window is ever missed.
"""

from __future__ import annotations

import numpy as np


def segment_bounds(steps: int, segments: int) -> np.ndarray:
    """Boundaries of `segments` near-equal consecutive segments of `steps` steps."""
    return np.rint(np.linspace(0, steps, segments + 1)).astype(np.int64)


def window_sums(prefix: np.ndarray, starts: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(n, segments) sums of the windows starting at `starts`, from the prefix sums of the values."""
    cut = prefix[np.asarray(starts)[:, None] + bounds]
    return (cut[:, 1:] - cut[:, :-1]).astype(np.int32)


def row_sums(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(n, segments) segment sums of explicit rows (n, T)."""
    prefix = np.concatenate([np.zeros((len(rows), 1), np.int64), np.cumsum(rows, axis=1, dtype=np.int64)], 1)
    cut = prefix[:, bounds]
    return (cut[:, 1:] - cut[:, :-1]).astype(np.int32)


def box_gap(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """sum over segments of the distance of each point's coordinate to [low, high] (LB_PAA)."""
    return np.maximum(np.maximum(points - high, low - points), 0).sum(axis=-1)


class GridIndex:
    """Points (n, d) bucketed into cells of side `cell`, cells sorted by their first coordinate."""

    def __init__(self, points: np.ndarray, cell: int) -> None:
        self.cell = int(cell)
        points = np.asarray(points, np.int64).reshape(len(points), -1)
        dims = points.shape[1]
        if not len(points):
            self.order = np.zeros(0, np.int64)
            self.cell_start = np.zeros(1, np.int64)
            self.cell_low = self.cell_high = np.zeros((0, dims), np.int64)
            return
        absolute = np.floor_divide(points, self.cell)
        base = absolute.min(axis=0)
        coords = absolute - base
        span = tuple(int(s) for s in coords.max(axis=0) + 1)
        key = np.ravel_multi_index(tuple(coords.T), span)  # first coordinate most significant
        self.order = np.argsort(key, kind="stable")
        sorted_key = key[self.order]
        first = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
        self.cell_start = np.concatenate([first, [len(key)]]).astype(np.int64)
        self.cell_low = absolute[self.order[first]] * self.cell
        self.cell_high = self.cell_low + self.cell - 1

    @property
    def cells(self) -> int:
        """Number of occupied cells."""
        return len(self.cell_low)

    def query(self, low: np.ndarray, high: np.ndarray, budget: float) -> np.ndarray:
        """Indices of every point whose box gap to [low, high] may be <= budget (a superset, never less)."""
        begin = np.searchsorted(self.cell_high[:, 0], low[0] - budget, side="left")
        end = np.searchsorted(self.cell_low[:, 0], high[0] + budget, side="right")
        if end <= begin:
            return np.zeros(0, np.int64)
        gap = np.maximum(np.maximum(self.cell_low[begin:end] - high, low - self.cell_high[begin:end]), 0).sum(axis=1)
        cells = begin + np.flatnonzero(gap <= budget)
        if not len(cells):
            return np.zeros(0, np.int64)
        lengths = self.cell_start[cells + 1] - self.cell_start[cells]
        offsets = np.repeat(self.cell_start[cells] - (np.cumsum(lengths) - lengths), lengths)
        return self.order[np.arange(int(lengths.sum()), dtype=np.int64) + offsets]
