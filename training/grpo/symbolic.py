"""Note-level rewards: they read the notes that start inside the crop (`pace`: each whole completion)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from encore.training.grpo.rewards import RewardBatch

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


def onset_rate(onsets_s: Sequence[float]) -> float:
    """Notes per second over a piece's own span: the notes over the time of the last onset (at least 1 s)."""
    return len(onsets_s) / max(1.0, max(onsets_s, default=0.0))


class ContinuationPace:
    """How close a completion's notes per second come to those of the music that really followed its prompt.

    `(min(d, r) + s) / (max(d, r) + s)` for the completion's rate d and the reference's r (`onset_rate`,
    over each one's whole span, not the crop: 256 tokens of real piano last about 7 s, so a 10-s crop
    would count all of them and cap the measure), smoothed by `s` notes/s: 1 at the real pace, about 0.5
    at half or twice it. Both span as many tokens after the same prompt. 1 where a completion has no
    reference (procedural prompts), which leaves a group's advantages unchanged.
    """

    name = "pace"
    needs_audio = False

    def __init__(self, smoothing: float = 0.25) -> None:
        if not smoothing > 0:
            raise ValueError(f"pace smoothing must be positive (got {smoothing})")
        self.smoothing = smoothing

    def score(self, batch: RewardBatch) -> torch.Tensor:
        references = batch.references if batch.references is not None else [None] * len(batch)
        values = []
        for piece, reference in zip(batch.notes, references, strict=True):
            if reference is None:
                values.append(1.0)
                continue
            rate, target = (onset_rate([note.onset_s for note in notes]) for notes in (piece, reference))
            values.append((min(rate, target) + self.smoothing) / (max(rate, target) + self.smoothing))
        return torch.tensor(values, dtype=torch.float32)
