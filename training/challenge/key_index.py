"""An exact pigeonhole index for high thresholds: windows keyed by their values at a few spread steps.

Every y_j is matched to some x_i with |i - j| <= r, so LB_set = sum_j min_{|i-j|<=r} |y_j - x_i| <= DTW_r
(see `ndtw.lb_set`). With integer values every step j where y_j is none of the values
S_j = {x_i : |i - j| <= r} adds at least 1, so when DTW_r <= D at most D steps miss, and among D + 1
disjoint groups of steps at least one group has *every* step's value in its S_j. Each group is a key:
the window's values at the group's steps. A window can only score >= threshold if, for some group, its
key is one of the combinations the query allows (the product of the S_j, at most (2r + 1)^g), so the
index looks up exactly those keys (sorted keys and `searchsorted`) and never misses a qualifying window.

Groups are spread over the chunk (steps k, k + T/g, k + 2T/g, ... for group k) with g = min(4, T // (D + 1))
steps each; below two steps per group (D >= T / 2) the index does not apply and `key_groups` returns None.
"""

from __future__ import annotations

import numpy as np

MAX_GROUP = 4
VALUE_OFFSET = 128  # contours run from -127 to 127: shift into one byte


def key_groups(steps: int, limit: int, max_group: int = MAX_GROUP) -> np.ndarray | None:
    """(limit + 1, g) disjoint step offsets, or None when groups of two steps cannot be formed."""
    groups = int(limit) + 1
    size = min(max_group, steps // groups)
    if size < 2:
        return None
    stride = steps // size
    return np.array([[k + stride * t for t in range(size)] for k in range(groups)], np.int64)


def pack(values: np.ndarray) -> np.ndarray:
    """One int64 key per row of (n, g) values in [-128, 127]."""
    shifted = np.asarray(values, np.int64) + VALUE_OFFSET
    return (shifted << (8 * np.arange(shifted.shape[1], dtype=np.int64))).sum(axis=1)


class KeyIndex:
    """Sorted keys of every window for each group of steps."""

    def __init__(self, values: np.ndarray, starts: np.ndarray, shift: np.ndarray, groups: np.ndarray) -> None:
        """Index the windows starting at `starts` of `values`, each minus its `shift` (contours; else 0)."""
        self.groups = groups
        self.keys: list[np.ndarray] = []
        self.orders: list[np.ndarray] = []
        for offsets in groups:
            keys = pack(values[starts[:, None] + offsets].astype(np.int64) - shift[:, None])
            order = np.argsort(keys, kind="stable")
            self.keys.append(keys[order])
            self.orders.append(order)

    def query(self, x: np.ndarray, band: int) -> np.ndarray:
        """Sorted unique indices of the windows whose key in some group is allowed by the query row `x`."""
        steps = len(x)
        found = []
        for offsets, keys, order in zip(self.groups, self.keys, self.orders, strict=True):
            choices = [np.unique(x[max(0, o - band) : min(steps, o + band + 1)]).astype(np.int64) for o in offsets]
            grids = np.meshgrid(*choices, indexing="ij")
            wanted = pack(np.stack([g.ravel() for g in grids], axis=1))
            left = np.searchsorted(keys, wanted, side="left")
            lengths = np.searchsorted(keys, wanted, side="right") - left
            hit = lengths > 0
            if not hit.any():
                continue
            left, lengths = left[hit], lengths[hit]
            offsets_flat = np.repeat(left - (np.cumsum(lengths) - lengths), lengths)
            found.append(order[np.arange(int(lengths.sum()), dtype=np.int64) + offsets_flat])
        if not found:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate(found))
