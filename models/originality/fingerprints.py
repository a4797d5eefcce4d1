"""Fingerprints of a top line: hashes of its short pitch-interval and rhythm n-grams.

An n-gram is `ngram_notes` consecutive top-line notes (`melody.top_line`), read as the pitch interval
and the inter-onset interval (IOI, in steps of `ioi_step_beats`) from each note to the next: the same
at any transposition and any tempo. Each step packs into 12 bits (interval clipped to +/-63, IOI to
0..31 steps) and the packed n-gram is mixed (splitmix64) down to `hash_bits`. A hash says nothing
playable: no pitch, no time, no order, and with the default 20 bits each hash value stands for many
plausible n-grams (there are about 10^9 with intervals within an octave and IOIs up to two beats).

N-grams whose intervals are all 0 (one note repeated) match any repeated note and are left out, as
the copy check leaves out chunks without pitch changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from encore.models.originality.melody import TopLine

STEP_BITS = 12
MAX_INTERVAL = 63
MAX_IOI_STEPS = 31


@dataclass(frozen=True)
class FingerprintConfig:
    """How top lines become hashes and when a run of them is a match; stored with every index.

    Attributes:
        ngram_notes: Notes per n-gram (2 to 6).
        grid_beats: Onsets and releases are snapped to this grid first (the piano tokenizer's finest
            position step; a no-op on notes decoded from its tokens).
        ioi_step_beats: Inter-onset intervals are rounded to this many beats.
        hash_bits: Bits kept of each n-gram's hash (8 to 32).
        min_run: A passage matches a piece when this many consecutive n-grams of it are all found in
            that piece (they cover `min_run + ngram_notes - 1` top-line notes).
    """

    ngram_notes: int = 5
    grid_beats: float = 0.125
    ioi_step_beats: float = 0.25
    hash_bits: int = 20
    min_run: int = 3

    def __post_init__(self) -> None:
        if not 2 <= self.ngram_notes <= 6:
            raise ValueError(f"ngram_notes must be in [2, 6], got {self.ngram_notes}")
        if not 8 <= self.hash_bits <= 32:
            raise ValueError(f"hash_bits must be in [8, 32], got {self.hash_bits}")
        if self.ioi_step_beats <= 0 or self.min_run < 1:
            raise ValueError("ioi_step_beats and min_run must be positive")

    @property
    def run_notes(self) -> int:
        """Top-line notes a matching run covers at least."""
        return self.min_run + self.ngram_notes - 1

    def to_dict(self) -> dict:
        """Plain values, for the index file."""
        return asdict(self)


def step_codes(line: TopLine, config: FingerprintConfig) -> np.ndarray:
    """One 12-bit code per pair of consecutive top-line notes (interval, IOI steps); uint64."""
    interval = np.clip(np.diff(line.pitch.astype(np.int64)), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL + 1
    ioi = np.clip(np.floor(np.diff(line.onset_beats) / config.ioi_step_beats + 0.5), 0, MAX_IOI_STEPS)
    return (interval.astype(np.uint64) << np.uint64(5)) | ioi.astype(np.uint64)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, elementwise on uint64 (wrapping arithmetic)."""
    values = values.copy()
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def ngram_hashes(line: TopLine, config: FingerprintConfig) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every n-gram of a top line, by its first note, and whether it counts (not a repeat).

    Returns:
        (L - n + 1,) uint64 hashes below 2**hash_bits and a bool mask of the informative ones (both
        empty when the line is shorter than one n-gram).
    """
    steps = config.ngram_notes - 1
    count = len(line) - steps
    if count <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    codes = step_codes(line, config)
    packed = np.zeros(count, np.uint64)
    moving = np.zeros(count, bool)
    for k in range(steps):
        packed = (packed << np.uint64(STEP_BITS)) | codes[k : k + count]
        moving |= line.pitch[k + 1 : k + 1 + count] != line.pitch[k : k + count]
    with np.errstate(over="ignore"):
        hashes = _mix(packed) >> np.uint64(64 - config.hash_bits)
    return hashes, moving
