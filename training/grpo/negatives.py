"""Negatives for the audio critic beyond the base model's samples: audio that is not piano music.

A critic trained only on real piano against our samples ranked white noise far above our samples (the
first run: 0.74 against 0.08), and one shown white noise still ranked unseen brown noise above them. So
the critic sees a family of "not music" during training and is checked on families it never saw:

- training families: coloured noise (spectral slope 0 to 1.5: white to pink and a little past), click
  trains, clusters of random notes rendered through the SoundFont (what a policy collapsing to noise
  through a piano would sound like), real crops driven into clipping, near-silence;
- held-out families: brown noise (slope 2), pure sine melodies, and real crops played backwards.

Each family is drawn from its own seeded generator, so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from encore.training.grpo.timing import TimedNote

TRAIN_FAMILIES = ("coloured noise", "clicks", "note clusters", "clipped piano", "near silence")
HELD_OUT_FAMILIES = ("brown noise", "sine melody", "reversed piano")
NOISE_LEVELS = (0.003, 0.5)
"""Noise amplitudes are log-uniform in this range."""


def coloured_noise(rng: np.random.Generator, count: int, frames: int, slopes: Sequence[float]) -> np.ndarray:
    """Noise whose power falls as 1/f**slope (0 white, 1 pink, 2 brown), peak-normalised then scaled to a
    random level."""
    slopes = np.broadcast_to(np.asarray(slopes, dtype=np.float64), (count,))
    spectrum = np.fft.rfft(rng.normal(0, 1, (count, frames)), axis=1)
    frequencies = np.fft.rfftfreq(frames)
    frequencies[0] = frequencies[1]
    spectrum *= frequencies[None, :] ** (-slopes[:, None] / 2)
    noise = np.fft.irfft(spectrum, n=frames, axis=1)
    noise -= noise.mean(axis=1, keepdims=True)
    noise /= np.abs(noise).max(axis=1, keepdims=True)
    return (noise * _levels(rng, count)[:, None]).astype(np.float32)


def clicks(rng: np.random.Generator, count: int, frames: int, sample_rate: int) -> np.ndarray:
    """Click trains: short decaying impulses at a random rate (2-40 per second), regular or jittered."""
    audio = np.zeros((count, frames), np.float32)
    decay = np.exp(-np.arange(int(0.004 * sample_rate)) / (0.0008 * sample_rate)).astype(np.float32)
    for row in range(count):
        period = sample_rate / rng.uniform(2, 40)
        times = np.arange(0, frames - len(decay), period)
        if rng.random() < 0.5:
            times = times + rng.normal(0, period / 4, len(times))
        for start in np.clip(times, 0, frames - len(decay)).astype(int):
            audio[row, start:start + len(decay)] += decay * rng.choice((-1, 1))
    return (audio.clip(-1, 1) * _levels(rng, count)[:, None]).astype(np.float32)


def note_clusters(rng: np.random.Generator, count: int, crop_s: float) -> list[list[TimedNote]]:
    """Pieces of random notes: dense clusters at random times, any pitch, extreme velocities often."""
    pieces = []
    for _ in range(count):
        rate = rng.uniform(8, 60)
        onsets = np.sort(rng.uniform(0, crop_s, int(rate * crop_s)))
        velocity_high = rng.random() < 0.5
        pieces.append([TimedNote(float(onset), int(rng.integers(21, 109)),
                                 int(rng.integers(100, 128) if velocity_high else rng.integers(1, 128)),
                                 float(rng.uniform(0.03, 1.5))) for onset in onsets])
    return pieces


def clipped(rng: np.random.Generator, real: np.ndarray) -> np.ndarray:
    """Real crops driven 10-60x into hard clipping (a policy cannot clip a synth, but a renderer can)."""
    gains = np.exp(rng.uniform(np.log(10), np.log(60), len(real)))
    return (real * gains[:, None]).clip(-1, 1).astype(np.float32)


def near_silence(rng: np.random.Generator, count: int, frames: int) -> np.ndarray:
    """White noise at 1e-4, just over the renderer's silence threshold."""
    return (rng.normal(0, 1e-4, (count, frames))).astype(np.float32)


def sine_melody(rng: np.random.Generator, count: int, frames: int, sample_rate: int) -> np.ndarray:
    """Pure tones changing pitch every 0.1-0.6 s (a melody with no piano timbre)."""
    audio = np.zeros((count, frames), np.float32)
    for row in range(count):
        start = 0
        phase = 0.0
        while start < frames:
            length = int(rng.uniform(0.1, 0.6) * sample_rate)
            frequency = 440.0 * 2 ** ((rng.integers(36, 96) - 69) / 12)
            steps = phase + 2 * np.pi * frequency * np.arange(1, min(length, frames - start) + 1) / sample_rate
            audio[row, start:start + len(steps)] = np.sin(steps)
            phase = float(steps[-1])
            start += length
    return (audio * _levels(rng, count)[:, None]).astype(np.float32)


def reversed_piano(real: np.ndarray) -> np.ndarray:
    """Real crops played backwards: piano timbre and pitches, unnatural attacks."""
    return np.ascontiguousarray(real[:, ::-1])


def training_negatives(rng: np.random.Generator, count: int, frames: int, sample_rate: int, crop_s: float,
                       real: np.ndarray, render: Callable[[list[list[TimedNote]]], np.ndarray]) -> np.ndarray:
    """`count` training negatives, spread evenly over `TRAIN_FAMILIES` (audio, (count, frames))."""
    share = [count // len(TRAIN_FAMILIES) + (i < count % len(TRAIN_FAMILIES)) for i in range(len(TRAIN_FAMILIES))]
    parts = [
        coloured_noise(rng, share[0], frames, rng.uniform(0, 1.5, share[0])),
        clicks(rng, share[1], frames, sample_rate),
        render(note_clusters(rng, share[2], crop_s)) if share[2] else np.zeros((0, frames), np.float32),
        clipped(rng, real[rng.choice(len(real), share[3])]) if share[3] else np.zeros((0, frames), np.float32),
        near_silence(rng, share[4], frames),
    ]
    return np.concatenate(parts)


def held_out_negatives(rng: np.random.Generator, count: int, frames: int, sample_rate: int,
                       real: np.ndarray) -> dict[str, np.ndarray]:
    """`count` crops of each family in `HELD_OUT_FAMILIES`, which training never sees."""
    return {
        "brown noise": coloured_noise(rng, count, frames, [2.0] * count),
        "sine melody": sine_melody(rng, count, frames, sample_rate),
        "reversed piano": reversed_piano(real[:count]),
    }


def _levels(rng: np.random.Generator, count: int) -> np.ndarray:
    low, high = np.log(NOISE_LEVELS[0]), np.log(NOISE_LEVELS[1])
    return np.exp(rng.uniform(low, high, count))
