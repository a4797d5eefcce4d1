"""The input functions Score, Groove and Accents on small literal examples."""

from __future__ import annotations

import torch

from encore.models.groove.features import accents, groove, instrument, score


def _loop() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # 4 steps, 9 drums; kick on 0 and 2, snare on 2, hi-hat on every step
    hits = torch.zeros(1, 4, 9)
    velocities = torch.zeros(1, 4, 9)
    offsets = torch.zeros(1, 4, 9)
    for step, drum, velocity, offset in [
        (0, 0, 0.8, 0.1), (2, 0, 0.8, -0.2), (2, 1, 0.9, 0.3),
        (0, 2, 0.5, 0.0), (1, 2, 0.3, -0.1), (2, 2, 0.5, 0.2), (3, 2, 0.9, 0.05),
    ]:
        hits[0, step, drum], velocities[0, step, drum], offsets[0, step, drum] = 1.0, velocity, offset
    return hits, velocities, offsets


def test_score_drops_timing_and_velocity() -> None:
    hits, _, _ = _loop()
    assert torch.equal(score(hits * 0.9 + (hits == 0) * 0.1), hits)
    assert instrument(hits, 0)[0, :, 0].tolist() == [1, 0, 1, 0]


def test_groove_keeps_the_loudest_note_per_step() -> None:
    squashed = groove(*_loop())[0]
    expected = [[1, 0.8, 0.1], [1, 0.3, -0.1], [1, 0.9, 0.3], [1, 0.9, 0.05]]
    assert torch.allclose(squashed, torch.tensor(expected))
    silent = groove(torch.zeros(1, 2, 9), torch.zeros(1, 2, 9), torch.zeros(1, 2, 9))
    assert torch.equal(silent, torch.zeros(1, 2, 3))


def test_accents_mark_notes_above_mean_plus_std() -> None:
    # hi-hat velocities 0.5, 0.3, 0.5, 0.9: mean 0.55, std 0.2179; only 0.9 is above 0.7679.
    # kick 0.8, 0.8 and the lone snare have std 0, so they are never accents.
    assert accents(*_loop()[:2])[0, :, 0].tolist() == [0, 0, 0, 1]
