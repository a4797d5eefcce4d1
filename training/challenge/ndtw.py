"""Banded DTW between step sequences, batched with numpy, its NDTW score and exact lower bounds.

DTW(x, y) is the least sum of |x_i - y_j| over a monotone path from (0, 0) to (T-1, T-1) with steps
(1, 0), (0, 1) and (1, 1), restricted to the Sakoe-Chiba band |i - j| <= r. The challenge scores it as

    NDTW(x, y) = (127 T - DTW(x, y)) / (127 T)

so identical chunks score 1; a score of at least `threshold` is a distance of at most
`max_distance(threshold, T) = (1 - threshold) * 127 T`. With r >= T - 1 the band is the unconstrained
DTW. The band narrows what counts as a copy (the rhythm has to line up within r steps) and makes the
lower bounds below tight enough to prune.

Lower bounds, each <= DTW_r(x, y) for every pair (so pruning with them never drops a pair that scores
above the threshold):

- LB_set: every y_j is matched to some x_i with |i - j| <= r, so it costs at least its distance to the
  nearest of those values: sum_j min_{|i-j|<=r} |y_j - x_i|.
- LB_Keogh: every y_j is matched to some x_i with |i - j| <= r, so it costs at least its distance to
  the envelope [L_j, U_j] = [min, max] of x over that window: sum_j dist(y_j, [L_j, U_j]). The same
  holds with the roles swapped; a looser (wider) envelope still bounds.
- The L2 relaxation used to screen many pairs at once with one matrix product: with the envelope's
  midpoint m = (U + L) / 2 and half-width h = (U - L) / 2, LB_Keogh = ||e||_1 with
  e_j = max(0, |y_j - m_j| - h_j), ||e||_1 >= ||e||_2 and ||y - m||_2 <= ||e||_2 + ||h||_2, so
  DTW_r >= ||y - m||_2 - ||h||_2.
"""

from __future__ import annotations

import numpy as np

PITCH_RANGE = 127
_INF = np.int32(1 << 28)


def max_distance(threshold: float, steps: int) -> float:
    """The largest DTW that still scores `threshold`."""
    return (1.0 - threshold) * PITCH_RANGE * steps


def ndtw_from_distance(distance: np.ndarray | float, steps: int) -> np.ndarray | float:
    """NDTW of a DTW distance over chunks of `steps` steps."""
    return (PITCH_RANGE * steps - np.asarray(distance, np.float64)) / (PITCH_RANGE * steps)


def dtw_banded(x: np.ndarray, y: np.ndarray, band: int) -> np.ndarray:
    """DTW distances of B pairs of equal-length integer sequences, row by row over the band.

    Args:
        x: (B, T) integers.
        y: (B, T) integers.
        band: Sakoe-Chiba radius r in steps (r >= T - 1 is unconstrained).

    Returns:
        (B,) int64 distances.
    """
    x = np.asarray(x, np.int32)
    y = np.asarray(y, np.int32)
    if x.ndim == 1:
        return dtw_banded(x[None], y[None], band)
    count, steps = x.shape
    r = int(min(band, steps - 1))
    width = 2 * r + 1
    # Cell (i, k) of the band is (i, j = i + k - r); y padded with r sentinels each side.
    padded = np.full((count, steps + 2 * r), -(1 << 20), np.int32)
    padded[:, r : r + steps] = y
    previous = np.full((count, width + 1), _INF, np.int32)  # row i-1, with one extra INF column at k = width
    current = np.full((count, width + 1), _INF, np.int32)
    for i in range(steps):
        # Cells outside the matrix meet the sentinel: a cost above any real path's total.
        cost = np.abs(padded[:, i : i + width] - x[:, i : i + 1])
        if i == 0:
            best = np.full((count, width), _INF, np.int32)
            best[:, r] = 0
        else:
            best = np.minimum(previous[:, :width], previous[:, 1 : width + 1])  # diagonal, vertical
        current[:, width] = _INF
        left = np.full(count, _INF, np.int32)
        for k in range(width):
            value = np.minimum(best[:, k], left) + cost[:, k]
            np.minimum(value, _INF, out=value)
            current[:, k] = value
            left = value
        previous, current = current, previous
    return previous[:, r].astype(np.int64)


def envelope(x: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper envelopes (B, T) of rows of `x` over windows [i - r, i + r] clipped to the row."""
    x = np.asarray(x)
    steps = x.shape[-1]
    lower = x.copy()
    upper = x.copy()
    for shift in range(1, min(band, steps - 1) + 1):
        lower[..., shift:] = np.minimum(lower[..., shift:], x[..., :-shift])
        lower[..., :-shift] = np.minimum(lower[..., :-shift], x[..., shift:])
        upper[..., shift:] = np.maximum(upper[..., shift:], x[..., :-shift])
        upper[..., :-shift] = np.maximum(upper[..., :-shift], x[..., shift:])
    return lower, upper


def lb_keogh(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """sum_j dist(y_j, [lower_j, upper_j]) per row: a lower bound of DTW_r when the envelope is x's."""
    y = np.asarray(y, np.int32)
    above = y - np.asarray(upper, np.int32)
    below = np.asarray(lower, np.int32) - y
    return np.maximum(np.maximum(above, below), 0).sum(axis=-1)


def lb_set(x: np.ndarray, y: np.ndarray, band: int) -> np.ndarray:
    """sum_j min_{|i - j| <= r} |y_j - x_i| per row: each y_j is matched within its band (>= LB_Keogh).

    `x` may be one row (T,) or one per row of `y`.
    """
    y = np.asarray(y, np.int32)
    x = np.broadcast_to(np.asarray(x, np.int32), y.shape)
    steps = y.shape[-1]
    best = np.abs(y - x)
    for shift in range(1, min(band, steps - 1) + 1):
        np.minimum(best[..., shift:], np.abs(y[..., shift:] - x[..., :-shift]), out=best[..., shift:])
        np.minimum(best[..., :-shift], np.abs(y[..., :-shift] - x[..., shift:]), out=best[..., :-shift])
    return best.sum(axis=-1)


def dtw_reference(x: list[int] | np.ndarray, y: list[int] | np.ndarray, band: int | None = None) -> int:
    """Plain O(T^2) DTW with an optional band: the definition, for tests."""
    n, m = len(x), len(y)
    inf = float("inf")
    table = [[inf] * (m + 1) for _ in range(n + 1)]
    table[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if band is not None and abs(i - j) > band:
                continue
            cost = abs(int(x[i - 1]) - int(y[j - 1]))
            table[i][j] = cost + min(table[i - 1][j - 1], table[i - 1][j], table[i][j - 1])
    return int(table[n][m])
