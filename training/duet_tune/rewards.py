"""Rewards of the duet that can be checked: the piano's notes against the performer's and the real part's range.

Every input is a list of notes in beats from the scored span's start. None of them reads annotated chords
(those stay for judging, `encore duet-eval`): the harmony is the one the performer's own notes imply,
so the same reward works live where no annotation exists.

| part | reward (1 is best) |
|---|---|
| `harmony` | over windows of `harmony_window_beats`, the chord template (major or minor triad) that best covers the performer's pitch classes there (weighted by how long each sounds); the share of the piano's notes sounding in a window whose pitch class is in that chord |
| `clash` | 1 - the share of the piano's notes sounding with a performer note a semitone away in pitch class |
| `density` | notes/s inside the real accompaniment's range (its rate x (1 -/+ `density_band`)): 1 inside, falling as the ratio to the nearer bound outside (silence scores 0) |
| `register` | the share of the piano's notes inside the real accompaniment's pitch range (its 10th to 90th percentile, widened by `register_margin`) |
| `alignment` | the share of the piano's distinct onsets within `tolerance_beats` of the performer's beat grid (`subdivision` per beat) or one of the performer's onsets |
| `doubling` | 1 - the share of the piano's notes at the exact pitch of a performer note sounding at their onset or played back from the beat before |

The total is the weighted mean of the parts (`DuetRewardConfig`); a piano that plays nothing scores 0 on
every part but `clash` and `doubling`, and 0 on `density`, so silence loses. KL to the reference is in
the GRPO loss, not here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from encore.models.notes import NoteEvent
from encore.training.duet_eval.measures import clash_rate

MAJOR, MINOR = (0, 4, 7), (0, 3, 7)
CHORD_TEMPLATES: tuple[tuple[int, frozenset[int]], ...] = tuple(
    (root, frozenset((root + step) % 12 for step in shape)) for shape in (MAJOR, MINOR) for root in range(12))
"""(root, pitch classes) of the 24 major and minor triads, majors first."""


@dataclass(frozen=True)
class DuetRewardConfig:
    """The reward's weights and settings (weights need not sum to 1: the total is their weighted mean).

    Attributes:
        harmony, clash, density, register, alignment, doubling: Weights of the parts (0 leaves one out).
        harmony_window_beats: Span over which the performer's notes imply one chord.
        density_band: The real accompaniment's notes/s times (1 - band, 1 + band) is rewarded fully.
        register_margin: Semitones the real part's pitch range is widened by either way.
        tolerance_beats: An onset this near a grid point or a performer onset is aligned.
        subdivision: Grid points per beat the alignment counts (2: eighths).
    """

    harmony: float = 1.0
    clash: float = 1.0
    density: float = 0.5
    register: float = 0.5
    alignment: float = 0.25
    doubling: float = 0.25
    harmony_window_beats: float = 4.0
    density_band: float = 0.2
    register_margin: int = 2
    tolerance_beats: float = 0.05
    subdivision: int = 2

    def __post_init__(self) -> None:
        weights = self.weights()
        if any(w < 0 for w in weights.values()) or not sum(weights.values()) > 0:
            raise ValueError(f"reward weights must be >= 0 and not all 0 (got {weights})")
        if not (self.harmony_window_beats > 0 and self.tolerance_beats >= 0 and self.subdivision >= 1
                and 0 <= self.density_band < 1):
            raise ValueError("harmony_window_beats > 0, tolerance_beats >= 0, subdivision >= 1, 0 <= density_band < 1")

    def weights(self) -> dict[str, float]:
        """Each part's weight, by name."""
        return {field.name: getattr(self, field.name) for field in fields(self)[:6]}


@dataclass(frozen=True)
class RealRange:
    """What the real accompaniment of the span plays: its notes/s bounds and pitch range."""

    low_rate: float
    high_rate: float
    low_pitch: int
    high_pitch: int


def _overlap_beats(note: NoteEvent, start: float, end: float) -> float:
    return max(0.0, min(note.end_beats, end) - max(note.onset_beats, start))


def implied_chord(performer: Sequence[NoteEvent], start: float, end: float) -> frozenset[int] | None:
    """The triad (`CHORD_TEMPLATES`) that best covers the performer's pitch classes sounding in [start, end).

    Each pitch class weighs the beats it sounds there; the template with the most weight inside wins, then
    the one whose root weighs most, then the first in the table. None when the performer is silent there.
    """
    weight = [0.0] * 12
    for note in performer:
        weight[note.pitch % 12] += _overlap_beats(note, start, end)
    if not any(weight):
        return None
    return max(CHORD_TEMPLATES, key=lambda t: (round(sum(weight[pc] for pc in t[1]), 9), round(weight[t[0]], 9)))[1]


def harmony_agreement(notes: Sequence[NoteEvent], performer: Sequence[NoteEvent], span_beats: float,
                      window_beats: float) -> float | None:
    """Share of (window, note sounding in it) pairs whose pitch class is in the window's implied chord
    (windows where the performer is silent are left out); None when there is no such pair."""
    hits = total = 0
    for index in range(math.ceil(span_beats / window_beats - 1e-9)):
        start, end = index * window_beats, min((index + 1) * window_beats, span_beats)
        chord = implied_chord(performer, start, end)
        if chord is None:
            continue
        for note in notes:
            if _overlap_beats(note, start, end) > 0:
                total += 1
                hits += note.pitch % 12 in chord
    return hits / total if total else None


def density_fit(count: int, span_beats: float, bpm: float, low_rate: float, high_rate: float) -> float:
    """1 when `count` notes over the span are within [low_rate, high_rate] notes/s; outside, the ratio of the
    rate to the nearer bound (below) or of the bound to the rate (above)."""
    rate = count / (span_beats * 60.0 / bpm)
    if rate < low_rate:
        return rate / low_rate
    return 1.0 if rate <= high_rate else high_rate / rate


def register_fit(notes: Sequence[NoteEvent], low_pitch: int, high_pitch: int) -> float:
    """Share of the notes with a pitch in [low_pitch, high_pitch] (0 without notes)."""
    return sum(low_pitch <= n.pitch <= high_pitch for n in notes) / len(notes) if notes else 0.0


def beat_alignment(notes: Sequence[NoteEvent], performer: Sequence[NoteEvent], subdivision: int,
                   tolerance_beats: float) -> float:
    """Share of the notes' distinct onsets within `tolerance_beats` of a `1/subdivision`-beat grid point or
    of a performer onset (0 without notes)."""
    onsets = sorted({round(n.onset_beats, 6) for n in notes})
    targets = [m.onset_beats for m in performer]

    def aligned(onset: float) -> bool:
        grid = abs(onset * subdivision - round(onset * subdivision)) / subdivision
        return grid <= tolerance_beats + 1e-9 or any(abs(onset - t) <= tolerance_beats + 1e-9 for t in targets)

    return sum(aligned(onset) for onset in onsets) / len(onsets) if onsets else 0.0


def unison_doubling(notes: Sequence[NoteEvent], performer: Sequence[NoteEvent]) -> float:
    """Share of the notes at the exact pitch of a performer note sounding at their onset, or begun within the
    beat before (the melody played back; 0 without notes)."""
    doubled = sum(any(m.pitch == n.pitch and (n.onset_beats - 1.0 <= m.onset_beats <= n.onset_beats
                                              or m.onset_beats <= n.onset_beats < m.end_beats) for m in performer)
                  for n in notes)
    return doubled / len(notes) if notes else 0.0


def real_range(accompaniment: Sequence[NoteEvent], span_beats: float, bpm: float, band: float,
               margin: int) -> RealRange:
    """The real accompaniment's notes/s band and its 10th-90th percentile pitches widened by `margin`.

    Raises:
        ValueError: the real accompaniment has no notes (nothing to compare with).
    """
    if not accompaniment:
        raise ValueError("the real accompaniment has no notes in the span")
    rate = len(accompaniment) / (span_beats * 60.0 / bpm)
    pitches = sorted(n.pitch for n in accompaniment)
    low = pitches[int(0.1 * (len(pitches) - 1))]
    high = pitches[math.ceil(0.9 * (len(pitches) - 1))]
    return RealRange(rate * (1 - band), rate * (1 + band), low - margin, high + margin)


def reward_parts(notes: Sequence[NoteEvent], performer: Sequence[NoteEvent], real: RealRange, span_beats: float,
                 bpm: float, config: DuetRewardConfig) -> dict[str, float]:
    """Each part of the reward (module docstring) for the piano's `notes` over the span, in [0, 1]."""
    notes = [n for n in notes if 0.0 <= n.onset_beats < span_beats]
    harmony = harmony_agreement(notes, performer, span_beats, config.harmony_window_beats)
    return {
        "harmony": harmony or 0.0,
        "clash": 1.0 - (clash_rate(notes, performer) or 0.0),
        "density": density_fit(len(notes), span_beats, bpm, real.low_rate, real.high_rate),
        "register": register_fit(notes, real.low_pitch, real.high_pitch),
        "alignment": beat_alignment(notes, performer, config.subdivision, config.tolerance_beats),
        "doubling": 1.0 - unison_doubling(notes, performer),
    }


def total_reward(parts: dict[str, float], config: DuetRewardConfig) -> float:
    """The weighted mean of the parts."""
    weights = config.weights()
    return sum(weights[name] * parts[name] for name in weights) / sum(weights.values())
