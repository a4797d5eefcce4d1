"""Note-level rewards: they read the notes that start inside the crop (`pace`: each whole completion, in beats)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from encore.training.grpo.rewards import RewardBatch

BEATS_MIN_SPAN = 2.0
"""The shortest span `pace` divides by, in beats (a second at 120 bpm)."""

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
"""Pitch classes of C major (natural minor scales are major scales of another root)."""


def scale_fraction(pitches: list[int], root: int) -> float:
    """Fraction of `pitches` in the major scale on `root` (0 for no pitches)."""
    if not pitches:
        return 0.0
    scale = {(root + step) % 12 for step in MAJOR_SCALE}
    return sum(pitch % 12 in scale for pitch in pitches) / len(pitches)


class CMajorFraction:
    """Fraction of notes whose pitch class is in C major (0 for no notes)."""

    name = "cmajor"
    needs_audio = False

    def score(self, batch: RewardBatch) -> torch.Tensor:
        return torch.tensor([scale_fraction([n.pitch for n in piece], 0) for piece in batch.cropped_notes()])


class ScaleConsistency:
    """MusPy's scale consistency: the largest fraction of notes in one major (or natural minor) scale."""

    name = "scale"
    needs_audio = False

    def score(self, batch: RewardBatch) -> torch.Tensor:
        return torch.tensor([max(scale_fraction([n.pitch for n in piece], root) for root in range(12))
                             for piece in batch.cropped_notes()])


class NoteDensity:
    """1 when the crop's notes per second lie in [low, high]; d/low below, high/d above (0 for no notes)."""

    name = "density"
    needs_audio = False

    def __init__(self, low: float = 2.0, high: float = 10.0) -> None:
        if not 0 < low <= high:
            raise ValueError(f"density range must satisfy 0 < low <= high (got {low}, {high})")
        self.low, self.high = low, high

    def score(self, batch: RewardBatch) -> torch.Tensor:
        values = []
        for piece in batch.cropped_notes():
            density = len(piece) / batch.crop_s
            values.append(density / self.low if density < self.low else
                          self.high / density if density > self.high else 1.0)
        return torch.tensor(values, dtype=torch.float32)


def onset_rate(onsets: Sequence[float], min_span: float = 1.0) -> float:
    """Notes per unit of time over a piece's own span: the notes over the time of the last onset (at least
    `min_span`; seconds or beats, as the onsets are)."""
    return len(onsets) / max(min_span, max(onsets, default=0.0))


class ContinuationPace:
    """How close a completion's notes per beat come to those of the music that really followed its prompt.

    `(min(d, r) + s) / (max(d, r) + s)` for the completion's rate d and the reference's r (`onset_rate` in
    beats, at least 2 beats, over each one's whole span), smoothed by `s` notes per beat: 1 at the real
    pace, about 0.5 at half or twice it. In beats, not seconds: a challenge entry plays at a fixed tempo and
    the engine at the performer's, so notes per beat is what a listener hears, and faster Tempo tokens
    cannot stand in for notes. Both span as many tokens after the same prompt. 1 where a completion has
    no reference (procedural prompts), which leaves a group's advantages unchanged.
    """

    name = "pace"
    needs_audio = False

    def __init__(self, smoothing: float = 0.125) -> None:
        if smoothing <= 0:
            raise ValueError(f"pace smoothing must be positive (got {smoothing})")
        self.smoothing = smoothing

    def score(self, batch: RewardBatch) -> torch.Tensor:
        if batch.references is None:
            return torch.ones(len(batch))
        if batch.onsets_beats is None:
            raise ValueError("pace needs each completion's onsets in beats beside its references")
        values = []
        for onsets, reference in zip(batch.onsets_beats, batch.references, strict=True):
            if reference is None:
                values.append(1.0)
                continue
            rate, target = onset_rate(onsets, BEATS_MIN_SPAN), onset_rate(reference, BEATS_MIN_SPAN)
            values.append((min(rate, target) + self.smoothing) / (max(rate, target) + self.smoothing))
        return torch.tensor(values, dtype=torch.float32)
