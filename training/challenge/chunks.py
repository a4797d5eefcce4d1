"""The copy check's representation: a file as one pitch per 16th step, and its 5-second chunks.

A file becomes a *step sequence*: step k covers [k * step_s, (k + 1) * step_s) with step_s = 0.125 s
(a 16th note at 120 bpm), and its value is the highest pitch sounding at that step (the top note,
which is the melody in most piano textures). A note sounds from its onset step, rounded to the nearest
step, until its release, rounded too, and at least until the next onset step of any note (so a
release a little early never lets a lower note show through for a step). A step where nothing
sounds is a rest, and **a rest holds the previous top pitch** (steps before the first note take the
first note's pitch): a separate rest value would dominate the 0..127 pitch distance, since one rest
against one note would cost as much as five octaves of wrong pitch, and it would blunt the lower
bounds that make the search fast.

Beside the values, each step carries a top-line onset flag: 1 where a note at the step's top pitch
starts at that step (a new melody note, or the same pitch struck again). A chunk is *informative* when it
has at least `min_onsets` such onsets and its top line changes pitch at least `min_changes` times;
the others (silence, one held chord, one repeated note) would match any chunk like them, so the check
leaves them out and says how many.

Entries are read as the grader reads them, at 120 bpm from their ticks (any tempo event ignored);
corpus files in their own time, through their tempo maps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError

GRADER_SECONDS_PER_BEAT = 0.5  # 120 bpm


@dataclass(frozen=True)
class ChunkConfig:
    """How files become step sequences and chunks; every field changes the scores."""

    step_s: float = 0.125
    chunk_s: float = 5.0
    band_steps: int = 2
    min_onsets: int = 6
    min_changes: int = 5

    @property
    def steps(self) -> int:
        """T, the number of steps in one chunk (40)."""
        return int(round(self.chunk_s / self.step_s))

    def to_dict(self) -> dict:
        """Plain values, for cache keys and reports."""
        return asdict(self)


class ChunkInputError(EncoreError):
    """A MIDI file the copy check cannot read."""


@dataclass
class StepSequence:
    """One file as top pitches per step and top-line onset flags (both length n_steps)."""

    values: np.ndarray  # uint8
    onsets: np.ndarray  # uint8, 0 or 1

    def __len__(self) -> int:
        return len(self.values)


def notes_to_steps(start_s: np.ndarray, end_s: np.ndarray, pitch: np.ndarray, step_s: float) -> StepSequence:
    """The step sequence of notes given in seconds (see the module docstring)."""
    if len(pitch) == 0:
        return StepSequence(np.zeros(0, np.uint8), np.zeros(0, np.uint8))
    first = np.rint(np.asarray(start_s, np.float64) / step_s).astype(np.int64)
    last = np.maximum(first + 1, np.rint(np.asarray(end_s, np.float64) / step_s).astype(np.int64))
    first = np.maximum(first, 0)
    # A release never opens a gap before the next onset: early releases (legato played short, jitter)
    # would otherwise let a lower note show through for a step.
    onset_steps = np.unique(first)
    following = np.searchsorted(onset_steps, first, side="right")
    next_onset = np.where(following < len(onset_steps), onset_steps[np.minimum(following, len(onset_steps) - 1)], 0)
    last = np.maximum(np.maximum(last, first + 1), next_onset)
    n_steps = int(last.max())
    top = np.full(n_steps, -1, np.int16)
    # Paint notes from the lowest pitch up so the highest sounding pitch wins each step.
    order = np.argsort(pitch, kind="stable")
    lengths = (last - first)[order]
    steps = np.repeat(first[order], lengths) + _ranges(lengths)
    top[steps] = np.repeat(np.asarray(pitch)[order].astype(np.int16), lengths)
    onsets = np.zeros(n_steps, np.uint8)
    onsets[first[top[first] == np.asarray(pitch, np.int16)]] = 1
    sounding = top >= 0
    held = np.maximum.accumulate(np.where(sounding, np.arange(n_steps), -1))
    first_sounding = int(np.argmax(sounding))
    held[held < 0] = first_sounding
    return StepSequence(top[held].astype(np.uint8), onsets)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..l0), [0..l1), ... for the given lengths."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - offsets


def read_notes(path: Path, grader_time: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onsets and releases in seconds and pitches of every non-drum note of a MIDI file."""
    from symusic import Score

    path = Path(path)
    if not path.is_file():
        raise ChunkInputError(f"{path}: no such file")
    try:
        score = Score(str(path))
    except Exception as error:  # symusic raises plain RuntimeError/ValueError for corrupt data
        raise ChunkInputError(f"{path}: not a readable MIDI file ({error})") from None
    if grader_time:
        scale = GRADER_SECONDS_PER_BEAT / max(1, score.tpq)
    else:
        score = score.to("second")
        scale = 1.0
    columns = [track.notes.numpy() for track in score.tracks if not track.is_drum and len(track.notes)]
    if not columns:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64)
    start = np.concatenate([c["time"] for c in columns]).astype(np.float64) * scale
    end = start + np.concatenate([c["duration"] for c in columns]).astype(np.float64) * scale
    pitch = np.concatenate([c["pitch"] for c in columns]).astype(np.int64)
    return start, end, pitch


def read_steps(path: Path, config: ChunkConfig, grader_time: bool = False) -> StepSequence:
    """A MIDI file's step sequence: entries with `grader_time` (ticks at 120 bpm), corpus files in seconds.

    Raises:
        ChunkInputError: the file is missing or unreadable.
    """
    start, end, pitch = read_notes(path, grader_time)
    return notes_to_steps(start, end, pitch, config.step_s)


def window_counts(flags: np.ndarray, width: int) -> np.ndarray:
    """Sum of `flags` over every window of `width` steps (length n - width + 1, or 0)."""
    if len(flags) < width:
        return np.zeros(0, np.int64)
    prefix = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return prefix[width:] - prefix[:-width]


def informative_windows(sequence: StepSequence, config: ChunkConfig) -> np.ndarray:
    """Boolean per window start: enough top-line onsets and pitch changes to be compared."""
    width = config.steps
    if len(sequence) < width:
        return np.zeros(0, bool)
    # changes[k] = 1 where step k + 1 differs from step k: a window [p, p + T) holds changes[p : p + T - 1].
    changes = (sequence.values[1:] != sequence.values[:-1]).astype(np.uint8)
    return (window_counts(sequence.onsets, width) >= config.min_onsets) & (
        window_counts(changes, width - 1) >= config.min_changes)


def chunk_starts(n_steps: int, stride_steps: int, width: int) -> np.ndarray:
    """Start steps of the sliding chunks of a sequence: 0, stride, 2 * stride, ... while a chunk fits."""
    if n_steps < width:
        return np.zeros(0, np.int64)
    return np.arange(0, n_steps - width + 1, max(1, stride_steps), dtype=np.int64)


def stride_to_steps(stride_s: float, config: ChunkConfig) -> int:
    """A stride in seconds as a whole number of steps (at least one)."""
    if stride_s <= 0:
        raise EncoreError(f"--stride must be positive, not {stride_s}")
    return max(1, int(round(stride_s / config.step_s)))


def lower_median(windows: np.ndarray) -> np.ndarray:
    """Per-row lower median of integer windows (an integer, so transposed copies shift it exactly)."""
    k = (windows.shape[1] - 1) // 2
    return np.partition(windows, k, axis=1)[:, k]
