"""The log-mel spectrogram against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from encore.training.grpo.mel import LogMel, MelConfig, hz_to_mel, mel_centers_hz, mel_filterbank, mel_to_hz


def test_mel_scale_literals() -> None:
    assert hz_to_mel(700.0) == pytest.approx(2595 * math.log10(2))
    assert hz_to_mel(1000.0) == pytest.approx(999.9855, abs=1e-3)
    assert mel_to_hz(hz_to_mel(440.0)) == pytest.approx(440.0)


def test_filters_are_triangles_peaking_at_their_centres() -> None:
    config = MelConfig(sample_rate=16000, n_fft=1024, n_mels=8, f_min=0.0, f_max=8000.0)
    filters = mel_filterbank(config)
    assert filters.shape == (8, 513)
    assert float(filters.min()) >= 0 and float(filters.max()) <= 1
    bin_hz = 16000 / 1024
    for band, centre in enumerate(mel_centers_hz(config).tolist()):
        assert int(filters[band].argmax()) == round(centre / bin_hz) or abs(filters[band].argmax() * bin_hz - centre) < bin_hz


@pytest.mark.parametrize("frequency", [440.0, 1000.0, 3000.0])
def test_a_sine_peaks_in_the_band_centred_nearest_its_frequency(frequency: float) -> None:
    config = MelConfig()
    mel = LogMel(config)
    time = torch.arange(16000) / 16000
    spectrogram = mel(torch.sin(2 * math.pi * frequency * time)[None])
    assert spectrogram.shape == (1, 64, mel.frames(16000))
    expected = int((mel_centers_hz(config) - frequency).abs().argmin())
    assert int(spectrogram[0, :, 10:-10].mean(dim=1).argmax()) == expected


def test_sine_power_matches_the_hand_computed_value() -> None:
    """A unit sine on an FFT bin: |X|^2 = (sum of the Hann window / 2)^2 at that bin, weighted by the filter."""
    config = MelConfig()
    mel = LogMel(config)
    bin_index = 64  # 1000 Hz exactly at 15.625 Hz per bin
    time = torch.arange(16000, dtype=torch.float64) / 16000
    audio = torch.sin(2 * math.pi * bin_index * 16000 / 1024 * time).float()
    power = mel(audio[None])[0, :, 20].exp()
    filters = mel_filterbank(config)
    window_sum = float(torch.hann_window(1024).sum())
    expected = (window_sum / 2) ** 2 * filters[:, bin_index]
    band = int(filters[:, bin_index].argmax())
    # Hann's leakage into the two neighbouring bins (each a quarter of the peak's amplitude) adds the rest.
    leak = (window_sum / 4) ** 2 * (filters[band, bin_index - 1] + filters[band, bin_index + 1])
    assert float(power[band]) == pytest.approx(float(expected[band] + leak), rel=1e-3)
