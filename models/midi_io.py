"""Reading MIDI files into one merged piano track, with clear errors for bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from symusic import Note, Score, TimeSignature, Track

from encore.models.errors import SeedError

GM_PIANO_PROGRAMS = range(0, 8)


def read_score(path: Path) -> Score:
    """Parse a MIDI file with symusic, raising `SeedError` for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise SeedError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SeedError(f"{path}: the file is empty")
    try:
        return Score(str(path))
    except Exception as error:  # symusic raises plain RuntimeError/ValueError for corrupt data
        raise SeedError(f"{path}: not a readable MIDI file ({error})") from None


def is_piano_track(track: Track) -> bool:
    """True for a non-drum track whose program is in the GM piano group (0-7)."""
    return not track.is_drum and track.program in GM_PIANO_PROGRAMS


def is_pitched_track(track: Track) -> bool:
    """True for any non-drum track: seeds read all pitched material as piano."""
    return not track.is_drum


def merge_tracks(score: Score, keep: Callable[[Track], bool]) -> Score:
    """A copy of `score` with the kept tracks merged into one piano track and duplicated notes dropped.

    Two notes are duplicates when they share onset and pitch; the longer one is kept.
    """
    columns = [track.notes.numpy() for track in score.tracks if keep(track) and len(track.notes)]
    merged = Score(score.tpq)
    merged.tempos = score.tempos.copy()
    merged.time_signatures = score.time_signatures.copy()
    merged.key_signatures = score.key_signatures.copy()
    track = Track(name="piano", program=0)
    if columns:
        notes = {key: np.concatenate([c[key] for c in columns]) for key in ("time", "duration", "pitch", "velocity")}
        order = np.lexsort((-notes["duration"], notes["pitch"], notes["time"]))
        notes = {key: value[order] for key, value in notes.items()}
        onset_pitch = notes["time"].astype(np.int64) * 128 + notes["pitch"]
        first = np.concatenate([[True], onset_pitch[1:] != onset_pitch[:-1]])
        track.notes = Note.from_numpy(**{key: value[first] for key, value in notes.items()})
    merged.tracks.append(track)
    return merged


def set_time_signature(score: Score, numerator: int, denominator: int) -> None:
    """Replace every time signature of `score` by one constant signature from the start."""
    score.time_signatures = [TimeSignature(0, numerator, denominator)]


def read_seed(path: Path) -> Score:
    """Read any MIDI file as a seed: all pitched tracks merged into one piano track.

    Raises:
        SeedError: the file is missing, corrupt, or holds no pitched notes.
    """
    score = merge_tracks(read_score(path), is_pitched_track)
    if len(score.tracks[0].notes) == 0:
        raise SeedError(f"{path}: the file holds no notes to continue")
    return score
