"""Does an entry stay in its seed's key? Key estimation from pitch-class profiles (Krumhansl-Kessler).

A stretch of music's pitch-class profile (each note's duration added to its pitch class) is
correlated with the 24 rotated major and minor key profiles; the best one is its key. How well an
entry keeps the seed's key is measured as the fraction of its sounding time on the seed key's scale
(`in_scale_fraction`): a chunk's own best-fitting key is reported too, but on 30 seconds of music it
often names a neighbour (the dominant, the relative minor) of music written wholly in the seed's
scale, so it is a description, not the measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from encore.training.challenge.timeline import TimedNote

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)
"""Scale degrees in semitones above the tonic (minor: natural minor plus the raised leading tone)."""


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class 0-11 and mode, with how well the profile fitted (Pearson r)."""

    tonic: int
    minor: bool
    fit: float = 0.0

    @property
    def name(self) -> str:
        """E.g. `C major`, `F# minor`."""
        return f"{PITCH_CLASS_NAMES[self.tonic]} {'minor' if self.minor else 'major'}"


def scale_pitch_classes(key: Key) -> frozenset[int]:
    """The pitch classes of the key's scale."""
    return frozenset((key.tonic + degree) % 12 for degree in (MINOR_SCALE if key.minor else MAJOR_SCALE))


def pitch_class_profile(notes: Sequence[TimedNote]) -> np.ndarray:
    """Seconds of sounding time per pitch class (12,)."""
    profile = np.zeros(12)
    for note in notes:
        profile[note.pitch % 12] += max(note.end_s - note.onset_s, 0.0)
    return profile


def estimate_key(notes: Sequence[TimedNote]) -> Key | None:
    """The best-fitting of the 24 keys, or None when the notes hold fewer than three pitch classes."""
    profile = pitch_class_profile(notes)
    if np.count_nonzero(profile) < 3:
        return None
    best: Key | None = None
    for minor, template in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for tonic in range(12):
            fit = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            if best is None or fit > best.fit:
                best = Key(tonic, minor, fit)
    return best


def in_scale_fraction(notes: Sequence[TimedNote], key: Key) -> float | None:
    """The fraction of the notes' sounding time on the key's scale (None when nothing sounds)."""
    profile = pitch_class_profile(notes)
    total = profile.sum()
    if total <= 0:
        return None
    return float(profile[sorted(scale_pitch_classes(key))].sum() / total)
