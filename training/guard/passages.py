"""Passages timed both ways, for comparing the guard (beats) with the exact copy check (seconds).

A MIDI file's notes are read once with their onsets and releases in beats (ticks over the file's
resolution, as the guard and the model count time) and in seconds (through the file's tempo map, as the
copy check reads the corpus). Planted copies are cut from training files at one of the copy check's
informative windows, then transposed and re-timed in seconds (Gaussian jitter on every onset and
release, as in `encore.training.challenge.calibration.jittered_copies`), the beats following the
seconds through the file's own tempo map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.notes import NoteEvent
from encore.training.challenge.chunks import ChunkConfig, ChunkInputError, notes_to_steps


@dataclass(frozen=True)
class TimedPassage:
    """Notes with onsets and releases in beats and in seconds (parallel arrays, onset order)."""

    onset_beats: np.ndarray
    end_beats: np.ndarray
    onset_s: np.ndarray
    end_s: np.ndarray
    pitch: np.ndarray

    def __len__(self) -> int:
        return len(self.pitch)

    def select(self, keep: np.ndarray) -> TimedPassage:
        """The notes where `keep` is true."""
        return TimedPassage(self.onset_beats[keep], self.end_beats[keep], self.onset_s[keep], self.end_s[keep],
                            self.pitch[keep])

    def note_events(self) -> list[NoteEvent]:
        """The notes in beats, as the guard reads them (velocity 64)."""
        return [NoteEvent(float(o), int(p), 64, float(e - o))
                for o, e, p in zip(self.onset_beats, self.end_beats, self.pitch, strict=True)]

    def window_steps(self, start_s: float, config: ChunkConfig) -> np.ndarray | None:
        """The copy check's step values of the chunk starting at `start_s` (None if shorter than a chunk)."""
        inside = (self.end_s > start_s) & (self.onset_s < start_s + config.chunk_s + 1.0)
        if not inside.any():
            return None
        begin = np.maximum(self.onset_s[inside] - start_s, 0.0)
        steps = notes_to_steps(begin, self.end_s[inside] - start_s, self.pitch[inside], config.step_s).values
        return steps[: config.steps] if len(steps) >= config.steps else None

    def chunk_notes(self, start_s: float, config: ChunkConfig) -> list[NoteEvent]:
        """The notes starting inside the chunk at `start_s`, for the guard."""
        return self.select((self.onset_s >= start_s) & (self.onset_s < start_s + config.chunk_s)).note_events()


def read_timed(path: Path) -> TimedPassage:
    """Every non-drum note of a MIDI file in beats and in seconds.

    Raises:
        ChunkInputError: the file is missing or unreadable.
    """
    from symusic import Score

    try:
        score = Score(str(path))
    except Exception as error:  # symusic raises plain RuntimeError/ValueError for corrupt data
        raise ChunkInputError(f"{path}: not a readable MIDI file ({error})") from None
    timed = score.to("second")
    ticks, seconds = [], []
    for track, in_seconds in zip(score.tracks, timed.tracks, strict=True):
        if not track.is_drum and len(track.notes):
            ticks.append(track.notes.numpy())
            seconds.append(in_seconds.notes.numpy())
    if not ticks:
        empty = np.zeros(0)
        return TimedPassage(empty, empty, empty, empty, empty.astype(np.int16))
    tick = {key: np.concatenate([c[key] for c in ticks]).astype(np.float64) for key in ("time", "duration")}
    second = {key: np.concatenate([c[key] for c in seconds]).astype(np.float64) for key in ("time", "duration")}
    pitch = np.concatenate([c["pitch"] for c in ticks]).astype(np.int16)
    order = np.argsort(second["time"], kind="stable")
    tpq = max(1, score.tpq)
    return TimedPassage(tick["time"][order] / tpq, (tick["time"] + tick["duration"])[order] / tpq,
                        second["time"][order], (second["time"] + second["duration"])[order], pitch[order])


def retimed(notes: Sequence[NoteEvent], timing: TimedPassage) -> TimedPassage:
    """Notes in beats (decoded from a file's tokens), timed in seconds through that file's tempo map
    (`timing`, the file as read by `read_timed`)."""
    onset = np.array([note.onset_beats for note in notes], np.float64)
    end = onset + np.array([note.duration_beats for note in notes], np.float64)
    pitch = np.array([note.pitch for note in notes], np.int16)
    to_seconds = _interpolate(timing.onset_beats, timing.onset_s)
    order = np.argsort(onset, kind="stable")
    return TimedPassage(onset[order], end[order], to_seconds(onset[order]), to_seconds(end[order]), pitch[order])


def planted_copy(source: TimedPassage, start_s: float, config: ChunkConfig, semitones: int, jitter_s: float,
                 rng: np.random.Generator) -> TimedPassage:
    """The notes of `source` sounding in the chunk at `start_s` (times from the chunk's start), moved by
    `semitones` and re-timed by N(0, jitter_s) in seconds; beats follow through the source's tempo map."""
    inside = (source.end_s > start_s) & (source.onset_s < start_s + config.chunk_s + 1.0)
    part = source.select(inside)
    shift = rng.normal(0.0, jitter_s, size=(2, len(part))) if jitter_s > 0 else np.zeros((2, len(part)))
    onset_s = np.maximum(part.onset_s + shift[0], start_s - 1.0)
    end_s = np.maximum(part.end_s + shift[1], onset_s + 0.01)
    to_beats = _interpolate(np.concatenate([source.onset_s, source.end_s]),
                            np.concatenate([source.onset_beats, source.end_beats]))
    origin_beats = float(to_beats(np.array([start_s]))[0])
    pitch = np.clip(part.pitch.astype(np.int32) + semitones, 0, 127).astype(np.int16)
    moved = TimedPassage(to_beats(onset_s) - origin_beats, to_beats(end_s) - origin_beats, onset_s - start_s,
                         end_s - start_s, pitch)
    keep = moved.end_s > 0
    order = np.argsort(moved.onset_s[keep], kind="stable")
    return moved.select(np.flatnonzero(keep)[order])


def _interpolate(known: np.ndarray, values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A monotone piecewise-linear map through the points (known, values): a tempo map, either way."""
    order = np.argsort(known, kind="stable")
    known, values = known[order], np.maximum.accumulate(values[order])
    return lambda points: np.interp(points, known, values)

