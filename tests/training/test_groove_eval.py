"""The evaluation measures on fixture windows with a small model, and the named-groove library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from encore.models.groove.config import GrooveConfig
from encore.models.groove.features import groove as groove_of
from encore.models.groove.library import load_library
from encore.models.groove.model import GrooveModel
from encore.models.groove.vae import GrooveVAE
from encore.models.shipped import GROOVE_LIBRARY
from encore.training.groove.data import load_windows
from encore.training.groove.eval import (
    diversity,
    fidelity,
    fidelity_rows,
    in_paper_units,
    readback,
    reconstruction,
    shifted_groove,
    synthetic_groove,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_measures_on_fixture_windows(tmp_path: Path) -> None:
    test = load_windows(FIXTURES, tmp_path)[0]["test"]
    hits, velocities, offsets = (np.asarray(a[:6], np.float32) for a in (test.hits, test.velocities, test.offsets))
    torch.manual_seed(0)
    model = GrooveModel(GrooveVAE(GrooveConfig.from_name("aux", encoder_hidden=16, decoder_hidden=32, aux_hidden=16)))
    scores = reconstruction(model, hits, velocities, offsets, seed=0)
    assert 0 <= scores["hit_accuracy"] <= 1 and scores["velocity_mae_midi"] >= 0
    sampled = diversity(model, hits, offsets, 1.0, seed=0)
    assert sampled["diversity"] > 0 and sampled["offset_mae_to_real"] > 0
    assert diversity(model, hits, offsets, 0.0, seed=0)["diversity"] < 1e-6  # no sampling, no diversity
    read = readback(model, hits, velocities, offsets)
    assert 0 <= read["score_hit_accuracy"] <= 1 and read["groove_offset_mae"] >= 0
    result = fidelity(model, hits, synthetic_groove(hits, 0.6, -0.2), seed=0)
    assert -1 <= result["mean"] <= 1 and result["std"] >= 0
    grooves = groove_of(*(torch.from_numpy(a) for a in (hits, velocities, offsets))).numpy()
    rows = fidelity_rows(model, hits, grooves, 0.6, seed=0)
    assert set(rows) == {"fidelity", "fidelity_paper_units", "fidelity_shifted", "fidelity_shifted_paper_units"}
    ours, paper = rows["fidelity_shifted"]["-0.4"], rows["fidelity_shifted_paper_units"]["-0.4"]
    assert 0 <= ours["clipped"] <= 1 and 0 <= paper["clipped"] <= ours["clipped"]  # the paper's -0.4 is 0.2 of ours
    assert in_paper_units({"mean": 0.1, "std": 0.1, "on_beat_mean": -0.1, "clipped": 0.5}) == {
        "mean": -0.2, "std": 0.2, "on_beat_mean": 0.2, "clipped": 0.5}


def test_a_shifted_groove_moves_only_off_beat_hits_and_counts_what_it_clips() -> None:
    groove = np.zeros((1, 32, 3), np.float32)
    groove[0, :, 0] = 1.0
    groove[0, :, 2] = np.where(np.arange(32) % 2 == 1, -0.3, 0.1)  # off-beats early, on-beats late
    groove[0, 5, 0], groove[0, 5, 2] = 0.0, 0.0                     # one off-beat step not struck
    shifted, clipped = shifted_groove(groove, -0.4)
    off = [s for s in range(1, 32, 2) if s != 5]
    assert np.allclose(shifted[0, off, 2], -0.5) and clipped == 1.0        # -0.7 clipped to half a step
    assert np.allclose(shifted[0, ::2, 2], 0.1) and shifted[0, 5, 2] == 0.0
    moved, none = shifted_groove(groove, 0.1)
    assert np.allclose(moved[0, off, 2], -0.2) and none == 0.0


def test_shipped_groove_library_is_usable() -> None:
    library = load_library(GROOVE_LIBRARY)
    assert len(library) >= 40
    styles = {groove.style for groove in library.values()}
    assert {"funk", "rock", "jazz", "latin", "hiphop"} <= styles
    for groove in library.values():
        assert groove.groove.shape == (32, 3)
        assert set(np.unique(groove.groove[:, 0])) <= {0.0, 1.0} and groove.groove[:, 0].sum() >= 12
        assert np.abs(groove.groove[:, 2]).max() <= 0.5
