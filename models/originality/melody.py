"""A passage's top line: the melody a listener follows, as onsets in beats and pitches.

Piano textures are read as the copy check reads them (`encore.training.challenge.chunks`: the highest
pitch sounding), but per onset instead of per 16th step, so the top line is the same at any tempo. Onsets are first snapped to a grid (the tokenizer's, for
notes read from a MIDI file rather than decoded from tokens). At
each onset the highest pitch starting there joins the top line when it is at least the top-line note
still sounding (one whose release is more than `RELEASE_SLACK_BEATS` away); an accompaniment note
struck under a held melody note does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from encore.models.notes import NoteEvent

RELEASE_SLACK_BEATS = 0.125
"""A top-line note released this close to the next onset counts as released (legato played short)."""


@dataclass(frozen=True)
class TopLine:
    """Top-line notes in onset order."""

    onset_beats: np.ndarray  # float64
    pitch: np.ndarray  # int16

    def __len__(self) -> int:
        return len(self.pitch)


def note_arrays(notes: Sequence[NoteEvent]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onsets, releases (beats) and pitches of notes, as arrays in the notes' order."""
    count = len(notes)
    onset = np.fromiter((note.onset_beats for note in notes), np.float64, count)
    end = onset + np.fromiter((note.duration_beats for note in notes), np.float64, count)
    pitch = np.fromiter((note.pitch for note in notes), np.int16, count)
    return onset, end, pitch


def top_line(onset: np.ndarray, end: np.ndarray, pitch: np.ndarray, grid_beats: float = 0.0) -> TopLine:
    """The top line of notes given as arrays (any order; see the module docstring), their onsets and
    releases first snapped to a grid of `grid_beats` (0: as they are)."""
    if grid_beats > 0:
        onset = np.floor(onset / grid_beats + 0.5) * grid_beats
        end = np.maximum(np.floor(end / grid_beats + 0.5) * grid_beats, onset + grid_beats)
    if not len(pitch):
        return TopLine(np.zeros(0, np.float64), np.zeros(0, np.int16))
    order = np.lexsort((-pitch.astype(np.int32), onset))  # by onset, highest pitch first
    onset, end, pitch = onset[order], end[order], pitch[order]
    first = np.concatenate([[True], onset[1:] != onset[:-1]])
    starts = np.flatnonzero(first)
    tops = pitch[starts]
    # The longest release among the notes struck at the top pitch of each onset.
    releases = np.maximum.reduceat(np.where(pitch == np.repeat(tops, np.diff(np.append(starts, len(pitch)))), end, -np.inf),
                                   starts)
    kept = np.zeros(len(starts), bool)
    held_pitch, held_until = -1, -np.inf
    for index, (at, top, release) in enumerate(zip(onset[starts].tolist(), tops.tolist(), releases.tolist(),
                                                   strict=True)):
        if top >= held_pitch or at >= held_until - RELEASE_SLACK_BEATS:
            kept[index] = True
            held_pitch, held_until = top, release
    return TopLine(onset[starts][kept], tops[kept])


def passage_top_line(notes: Sequence[NoteEvent], grid_beats: float = 0.0) -> TopLine:
    """The top line of `NoteEvent`s (see `top_line`)."""
    return top_line(*note_arrays(notes), grid_beats)
