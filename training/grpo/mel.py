"""Log-mel spectrograms in plain torch (no torchaudio): an HTK-style triangular filterbank over |STFT|^2."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class MelConfig:
    """Spectrogram shape: Hann-windowed STFT of `n_fft` every `hop` frames, `n_mels` bands in [f_min, f_max]."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 64
    f_min: float = 30.0
    f_max: float = 8000.0

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


def hz_to_mel(hz: float | torch.Tensor) -> float | torch.Tensor:
    """HTK mel scale: 2595 log10(1 + f / 700)."""
    if isinstance(hz, torch.Tensor):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: float | torch.Tensor) -> float | torch.Tensor:
    """Inverse of `hz_to_mel`."""
    if isinstance(mel, torch.Tensor):
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_centers_hz(config: MelConfig) -> torch.Tensor:
    """Centre frequency of each band (n_mels,), equally spaced in mel between f_min and f_max."""
    edges = torch.linspace(hz_to_mel(config.f_min), hz_to_mel(config.f_max), config.n_mels + 2, dtype=torch.float64)
    return mel_to_hz(edges)[1:-1]


def mel_filterbank(config: MelConfig) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters: 1 at a band's centre, 0 at its neighbours' centres."""
    edges = mel_to_hz(torch.linspace(hz_to_mel(config.f_min), hz_to_mel(config.f_max), config.n_mels + 2,
                                     dtype=torch.float64))
    bins = torch.linspace(0, config.sample_rate / 2, config.n_fft // 2 + 1, dtype=torch.float64)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (centre - lower)
    falling = (upper - bins[None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class LogMel(nn.Module):
    """(B, samples) float audio -> (B, n_mels, frames) natural-log mel power (floored at `LOG_FLOOR`)."""

    def __init__(self, config: MelConfig | None = None) -> None:
        super().__init__()
        self.config = config or MelConfig()
        self.register_buffer("window", torch.hann_window(self.config.n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(self.config), persistent=False)

    def frames(self, samples: int) -> int:
        """Spectrogram frames of a clip of `samples` (centred STFT)."""
        return samples // self.config.hop + 1

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(audio.float(), self.config.n_fft, self.config.hop, window=self.window,
                              center=True, return_complex=True)
        power = spectrum.real.square() + spectrum.imag.square()
        return torch.log(torch.clamp(self.filters @ power, min=LOG_FLOOR))
