"""MusPy-style features of one piece and a piano-roll diversity score, as in SMART's Figures 4 and 6.

Beats: notes come from `timing.timed_notes` in seconds (the Tempo tokens' map applied) and are turned
back into beats at the *prompt's* tempo (`prompt_tempo_qpm`: its last Tempo token, 120 bpm without
one). While the completion keeps that tempo these are its score beats; if it changes tempo, the beats
stay a fixed length of time (60 / prompt tempo seconds), so every feature measures what is heard.
Beat 0 is where the completion starts (for procedural prompts, the first bar's downbeat).

Feature definitions (MusPy's, on our grid of `STEPS_PER_BEAT` steps a beat; each note sounds from the
step nearest its onset to the step nearest its end, at least one step):

- polyphony rate: fraction of steps from 0 to the last note's end in which two or more pitches sound;
- empty-beat rate: fraction of the beats from 0 to the last note's end (rounded up) in which nothing
  sounds (a held note fills the beats it spans);
- pitch range, velocity range: highest minus lowest;
- scale consistency: the largest fraction of notes in one major (or natural minor) scale;
- notes per second (not in the paper; the pace the `pace` reward measures): the notes over the time of
  the last onset (at least 1 s), at the prompt's tempo.

A piece without notes has `notes` and `notes_per_second` 0 and NaN for the others (MusPy's NaN for an
empty piece).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from encore.models.notes import NoteEvent
from encore.models.piano.streaming_decoder import Kind, TokenTable
from encore.training.grpo.symbolic import onset_rate, scale_fraction
from encore.training.grpo.timing import DEFAULT_TEMPO_QPM, TimedNote, timed_notes

STEPS_PER_BEAT = 12
"""Grid of the polyphony and empty-beat features (MusPy's time steps): 16ths and triplets fall on it."""

ROLL_BEATS = 16
ROLL_STEPS_PER_BEAT = 4
ROLL_PITCHES = range(21, 110)
"""The diversity piano roll (SMART's Figure 6): the first 16 beats in 16th notes, the vocabulary's pitches
(A0 to C#8: the 88 piano keys and one)."""


@dataclass(frozen=True)
class PieceFeatures:
    """The per-piece features of one completion (NaN where a piece without notes has none)."""

    notes: int
    polyphony_rate: float
    empty_beat_rate: float
    pitch_range: float
    scale_consistency: float
    velocity_range: float
    mean_pitch: float
    mean_velocity: float
    notes_per_second: float


def prompt_tempo_qpm(table: TokenTable, prompt: Sequence[int]) -> float:
    """The tempo in force at the end of `prompt`: its last Tempo token, 120 bpm without one."""
    tempos = [table.tempos[table.values[token]] for token in prompt if table.kinds[token] == Kind.TEMPO]
    return tempos[-1] if tempos else DEFAULT_TEMPO_QPM


def to_beats(notes: Sequence[TimedNote], qpm: float) -> list[NoteEvent]:
    """Notes in seconds as notes in beats of `qpm` quarter notes per minute."""
    per_s = qpm / 60.0
    return [NoteEvent(n.onset_s * per_s, n.pitch, n.velocity, n.duration_s * per_s) for n in notes]


def completion_notes(table: TokenTable, sequence: Sequence[int], prompt_length: int) -> list[NoteEvent]:
    """The notes of a completion (`sequence[prompt_length:]`) in beats at the prompt's tempo."""
    qpm = prompt_tempo_qpm(table, sequence[:prompt_length])
    return to_beats(timed_notes(table, sequence, start=prompt_length), qpm)


def sounding_roll(notes: Sequence[NoteEvent], steps_per_beat: int, steps: int | None = None) -> np.ndarray:
    """(steps, 128) booleans: which pitches sound at each step (default: up to the last note's end)."""
    spans = [(max(0, round(n.onset_beats * steps_per_beat)), round(n.end_beats * steps_per_beat), n.pitch)
             for n in notes]
    spans = [(start, max(end, start + 1), pitch) for start, end, pitch in spans]
    if steps is None:
        steps = max((end for _, end, _ in spans), default=0)
    roll = np.zeros((steps, 128), dtype=bool)
    for start, end, pitch in spans:
        roll[start:end, pitch] = True
    return roll


def polyphony_rate(notes: Sequence[NoteEvent]) -> float:
    """Fraction of grid steps, up to the last note's end, in which two or more pitches sound."""
    roll = sounding_roll(notes, STEPS_PER_BEAT)
    return float(np.mean(roll.sum(axis=1) >= 2)) if len(roll) else math.nan


def empty_beat_rate(notes: Sequence[NoteEvent]) -> float:
    """Fraction of beats, up to the beat holding the last note's end, in which no note sounds."""
    roll = sounding_roll(notes, STEPS_PER_BEAT)
    if not len(roll):
        return math.nan
    beats = -(-len(roll) // STEPS_PER_BEAT)
    padded = np.zeros((beats * STEPS_PER_BEAT, 128), dtype=bool)
    padded[:len(roll)] = roll
    return float(np.mean(~padded.reshape(beats, -1).any(axis=1)))


def scale_consistency(pitches: Sequence[int]) -> float:
    """The largest fraction of `pitches` in one major (or natural minor) scale; NaN for none."""
    return max(scale_fraction(list(pitches), root) for root in range(12)) if pitches else math.nan


def piece_features(notes: Sequence[NoteEvent], qpm: float = DEFAULT_TEMPO_QPM) -> PieceFeatures:
    """Every per-piece feature of one completion, its notes in beats of `qpm` quarter notes per minute."""
    if not notes:
        return PieceFeatures(0, *[math.nan] * 7, notes_per_second=0.0)
    pitches = [n.pitch for n in notes]
    velocities = [n.velocity for n in notes]
    return PieceFeatures(
        notes=len(notes),
        polyphony_rate=polyphony_rate(notes),
        empty_beat_rate=empty_beat_rate(notes),
        pitch_range=float(max(pitches) - min(pitches)),
        scale_consistency=scale_consistency(pitches),
        velocity_range=float(max(velocities) - min(velocities)),
        mean_pitch=float(np.mean(pitches)),
        mean_velocity=float(np.mean(velocities)),
        notes_per_second=onset_rate([n.onset_beats * 60.0 / qpm for n in notes]),
    )


def opening_roll(notes: Sequence[NoteEvent]) -> np.ndarray:
    """(89, 64) booleans, pitch x time: the pitches (from A0) sounding in each 16th of the first 16 beats."""
    roll = sounding_roll(notes, ROLL_STEPS_PER_BEAT)[:ROLL_BEATS * ROLL_STEPS_PER_BEAT]
    window = np.zeros((ROLL_BEATS * ROLL_STEPS_PER_BEAT, 128), dtype=bool)
    window[:len(roll)] = roll
    return window[:, ROLL_PITCHES.start:ROLL_PITCHES.stop].T


def _mean_pair_distance(both: np.ndarray, either: np.ndarray) -> float:
    """Mean over pairs i < j of 1 - both / either (0 where either is 0: two empty rolls)."""
    distance = np.where(either > 0, 1.0 - both / np.where(either > 0, either, 1.0), 0.0)
    return float(distance[np.triu_indices(len(both), k=1)].mean())


def diversity(rolls: np.ndarray) -> float:
    """Mean pairwise Jaccard distance between binarised opening piano rolls (N, ...); NaN for N < 2.

    The distance of two rolls is 1 - |cells on in both| / |cells on in either| (0 for two empty rolls):
    0 for identical openings, 1 for openings that share no sounding (pitch, 16th) cell. It lies in [0, 1]
    on the same grid for every model, and unlike a Hamming distance it does not rise with density; it
    falls a little with it (unrelated rolls share more cells when they are denser), which
    `chance_diversity` measures: compare a model's score with its chance level.
    """
    if len(rolls) < 2:
        return math.nan
    flat = rolls.reshape(len(rolls), -1).astype(np.float64)
    both = flat @ flat.T
    sizes = flat.sum(axis=1)
    return _mean_pair_distance(both, sizes[:, None] + sizes[None, :] - both)


def chance_diversity(rolls: np.ndarray) -> float:
    """The `diversity` explained by density alone: each pair's 1 - E[both] / E[either] were each roll's
    sounding cells placed uniformly at random (same counts); NaN for fewer than two rolls."""
    if len(rolls) < 2:
        return math.nan
    sizes = rolls.reshape(len(rolls), -1).sum(axis=1).astype(np.float64)
    both = np.outer(sizes, sizes) / rolls[0].size
    return _mean_pair_distance(both, sizes[:, None] + sizes[None, :] - both)
