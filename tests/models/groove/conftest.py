"""Shared fixtures of the groove model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from encore.models.groove.grid import drum_loop, onsets, read_midi

GROOVE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "groove"


@pytest.fixture(scope="module")
def windows() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 16 two-bar windows (one-bar hop) of a real GMD file: hits, velocities, offsets (float32)."""
    midi = read_midi(str(GROOVE_FIXTURES / "10_soul-groove10_102_beat_4-4.mid"))
    loop = drum_loop(onsets(midi), midi.ticks_per_beat)
    starts = range(0, loop.steps - 32 + 1, 16)
    return tuple(torch.from_numpy(np.stack([a[s : s + 32] for s in starts])) for a in (loop.hits, loop.velocities, loop.offsets))
