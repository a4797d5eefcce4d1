"""The critic's negative families: shapes, levels, spectra and what each family is made of."""

from __future__ import annotations

import numpy as np

from encore.training.grpo import negatives

RATE = 8000
FRAMES = RATE * 2


def spectral_slope(audio: np.ndarray) -> float:
    """Least-squares slope of log power against log frequency (0 white, -1 pink, -2 brown)."""
    power = (np.abs(np.fft.rfft(audio, axis=1)) ** 2).mean(axis=0)[1:]
    frequencies = np.fft.rfftfreq(audio.shape[1])[1:]
    return float(np.polyfit(np.log(frequencies), np.log(power), 1)[0])


def test_coloured_noise_has_the_asked_slope_and_a_level_in_range() -> None:
    rng = np.random.default_rng(0)
    for slope in (0.0, 1.0, 2.0):
        noise = negatives.coloured_noise(rng, 16, FRAMES, [slope] * 16)
        assert noise.shape == (16, FRAMES) and noise.dtype == np.float32
        assert abs(spectral_slope(noise) + slope) < 0.15
        peaks = np.abs(noise).max(axis=1)
        assert (peaks >= negatives.NOISE_LEVELS[0] * 0.999).all() and (peaks <= negatives.NOISE_LEVELS[1] * 1.001).all()


def test_clicks_are_sparse_impulses() -> None:
    audio = negatives.clicks(np.random.default_rng(1), 8, FRAMES, RATE)
    loud = np.abs(audio) > 1e-3 * np.abs(audio).max(axis=1, keepdims=True)
    assert (loud.mean(axis=1) < 0.5).all() and (loud.sum(axis=1) > 0).all()


def test_note_clusters_are_dense_random_notes_inside_the_crop() -> None:
    pieces = negatives.note_clusters(np.random.default_rng(2), 20, 10.0)
    assert all(len(piece) >= 80 for piece in pieces)  # at least 8 notes a second
    notes = [note for piece in pieces for note in piece]
    assert all(0 <= n.onset_s < 10 and 21 <= n.pitch <= 108 and 1 <= n.velocity <= 127 for n in notes)
    assert len({n.pitch for n in notes}) > 60


def test_clipped_and_reversed_piano_are_made_from_the_real_crops() -> None:
    real = (0.3 * np.sin(np.linspace(0, 200, FRAMES)) * np.linspace(1, 0.5, FRAMES))[None].repeat(3, 0)
    clipped = negatives.clipped(np.random.default_rng(3), real.astype(np.float32))
    assert (np.abs(clipped) <= 1).all() and (np.isclose(np.abs(clipped), 1).mean(axis=1) > 0.2).all()
    backwards = negatives.reversed_piano(real)
    assert np.array_equal(backwards[:, 0], real[:, -1]) and np.array_equal(backwards[:, -1], real[:, 0])


def test_training_negatives_cover_every_family_and_held_out_ones_are_apart() -> None:
    rng = np.random.default_rng(4)
    real = np.random.default_rng(5).normal(0, 0.05, (4, FRAMES)).astype(np.float32)
    rendered = []

    def render(pieces: list) -> np.ndarray:
        rendered.extend(pieces)
        return np.full((len(pieces), FRAMES), 0.25, np.float32)

    audio = negatives.training_negatives(rng, 12, FRAMES, RATE, 2.0, real, render)
    assert audio.shape == (12, FRAMES)
    assert len(rendered) == 2  # 12 over 5 families is 3, 3, 2, 2, 2: the third goes through the synth
    held = negatives.held_out_negatives(rng, 4, FRAMES, RATE, real)
    assert set(held) == set(negatives.HELD_OUT_FAMILIES) and all(a.shape == (4, FRAMES) for a in held.values())
    assert abs(spectral_slope(held["brown noise"]) + 2) < 0.2
