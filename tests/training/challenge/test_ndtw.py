"""NDTW on hand-built sequences, the batched kernel against the definition, and the lower bounds."""

from __future__ import annotations

import numpy as np
import pytest

from encore.training.challenge.key_index import key_groups
from encore.training.challenge.ndtw import (
    dtw_banded,
    dtw_reference,
    envelope,
    lb_keogh,
    lb_set,
    max_distance,
    ndtw_from_distance,
)


def test_identical_chunks_score_one() -> None:
    x = np.array([60, 62, 64, 65, 67, 65, 64, 62] * 5)
    assert dtw_banded(x, x, 2)[0] == 0
    assert ndtw_from_distance(0, 40) == 1.0


@pytest.mark.parametrize(("x", "y", "band", "distance"), [
    ([0, 0, 1], [0, 1, 1], 1, 0),  # a boundary one step late warps away
    ([0, 0, 1], [0, 1, 1], 0, 1),  # without a band it costs |0 - 1| once
    ([60, 62, 64], [60, 63, 64], 2, 1),
    ([60, 60, 60, 60], [72, 72, 72, 72], 3, 48),
    ([1, 2, 3, 4], [4, 3, 2, 1], 3, 8),  # path (0,0),(1,1)/(1,2)...: see dtw_reference
])
def test_known_distances(x: list[int], y: list[int], band: int, distance: int) -> None:
    assert dtw_reference(x, y, band) == distance
    assert dtw_banded(np.array([x]), np.array([y]), band)[0] == distance


def test_ndtw_literals() -> None:
    assert ndtw_from_distance(127 * 40, 40) == 0.0
    assert ndtw_from_distance(50.8, 40) == pytest.approx(0.99)
    assert max_distance(0.999, 40) == pytest.approx(5.08)


@pytest.mark.parametrize("band", [0, 1, 2, 4, 39])
def test_batched_kernel_matches_definition(band: int) -> None:
    rng = np.random.default_rng(band)
    x = rng.integers(55, 75, (40, 40))
    y = np.where(rng.random((40, 40)) < 0.7, x, rng.integers(55, 75, (40, 40)))
    assert list(dtw_banded(x, y, band)) == [dtw_reference(a, b, band) for a, b in zip(x, y, strict=True)]


def test_lower_bounds_never_exceed_dtw() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(40, 90, (500, 40))
    y = np.clip(x + rng.integers(-3, 4, (500, 40)) * (rng.random((500, 40)) < 0.3), 0, 127)
    y[250:] = rng.integers(40, 90, (250, 40))
    for band in (1, 2, 4):
        distance = dtw_banded(x, y, band)
        lower, upper = envelope(x, band)
        keogh = lb_keogh(y, lower, upper)
        tight = lb_set(x, y, band)
        assert np.all(keogh <= tight) and np.all(tight <= distance)
        y_lower, y_upper = envelope(y, band)
        assert np.all(lb_keogh(x, y_lower, y_upper) <= distance)


@pytest.mark.parametrize("limit", [0, 3, 5, 9, 12, 19])
def test_key_groups_are_disjoint_and_enough(limit: int) -> None:
    groups = key_groups(40, limit)
    assert groups is not None and len(groups) == limit + 1 and groups.shape[1] >= 2
    flat = groups.ravel()
    assert len(set(flat.tolist())) == len(flat) and flat.min() >= 0 and flat.max() < 40
    assert key_groups(40, 20) is None
