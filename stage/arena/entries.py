"""An entry as the grader hears it, cut into the chunks listeners compare.

The entry is read as the grader reads it (`encore.training.challenge.rules`): meta messages stripped,
the ticks played at 120 bpm. An hour is cut into `FULL_CHUNKS` (120) chunks of equal length, about
`CHUNK_S` (30) seconds each; a shorter entry into `chunk_count(length)` chunks of about 30 s. Each
chunk holds the notes sounding inside it, in seconds from its start and clipped to it (a note held
from the previous chunk starts at 0), which is what its MIDI file stores; its audio is rendered with
a pre-roll so a held note sounds as it did in the whole entry (`encore.stage.arena.audio`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from encore.models.errors import EncoreError
from encore.models.midi_writer import write_notes
from encore.training.challenge.report import CHUNK_S, notes_from_midi
from encore.training.challenge.rules import (
    TARGET_S,
    TOLERANCE_S,
    check_midi,
    length_s,
    read_entry,
    strip_meta,
)
from encore.training.challenge.timeline import TimedNote, to_file_beats

FULL_CHUNKS = round(TARGET_S / CHUNK_S)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Grader rules whose failure means there is nothing (or not the right amount) to listen to.
REFUSING_RULES = ("has notes",)


class EntryRefused(EncoreError):
    """An entry the arena does not take, with the reason."""


@dataclass(frozen=True)
class EntryMusic:
    """An entry's notes in seconds as the grader plays them, its length, and the grader rules it breaks."""

    notes: tuple[TimedNote, ...]
    length_s: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """One chunk of an entry: its place in the entry and its notes in seconds from its start."""

    index: int
    start_s: float
    length_s: float
    notes: tuple[TimedNote, ...]


def check_name(name: str) -> str:
    """An entry name fit for a folder and a leaderboard.

    Raises:
        EntryRefused: the name is empty, too long or holds other characters than letters, digits, . _ -.
    """
    if not NAME_PATTERN.fullmatch(name):
        raise EntryRefused(f"entry name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                           f"letter or digit")
    return name


def read_music(path: Path, allow_short: bool = False) -> EntryMusic:
    """Read and check an entry.

    Args:
        path: The entry MIDI file.
        allow_short: Take an entry shorter than an hour (an hour is `TARGET_S` +/- `TOLERANCE_S`).

    Raises:
        EntryRefused: the file is missing, not MIDI, holds no notes, or is far from an hour.
    """
    try:
        midi = read_entry(path)
    except EncoreError as error:
        raise EntryRefused(str(error)) from None
    results = check_midi(midi)
    refused = [r for r in results if not r.passed and r.rule in REFUSING_RULES]
    if refused:
        raise EntryRefused(f"{path}: {refused[0].detail}; the arena needs music to listen to")
    stripped = strip_meta(midi)
    seconds = length_s(stripped)
    if seconds is None:
        raise EntryRefused(f"{path}: mido cannot measure the length of a type 2 file")
    if seconds > TARGET_S + TOLERANCE_S:
        raise EntryRefused(f"{path}: {seconds:.1f} s long, longer than an hour ({TARGET_S:g} +/- {TOLERANCE_S:g} s)")
    if seconds < TARGET_S - TOLERANCE_S and not allow_short:
        raise EntryRefused(f"{path}: {seconds:.1f} s long, far from an hour ({TARGET_S:g} +/- {TOLERANCE_S:g} s); "
                           f"--allow-short takes it as {chunk_count(seconds)} chunk(s) instead of {FULL_CHUNKS}")
    warnings = tuple(r.line() for r in results if not r.passed and not r.rule.startswith("length"))
    notes = tuple(n for n in notes_from_midi(stripped) if n.onset_s < seconds)
    return EntryMusic(notes, seconds, warnings)


def chunk_count(length_s: float) -> int:
    """Chunks of about `CHUNK_S` in an entry of `length_s` seconds: 120 for an hour, at least one."""
    return max(1, round(length_s / CHUNK_S))


def split(music: EntryMusic) -> list[Chunk]:
    """The entry's chunks, of equal length, covering it from 0 to its end."""
    count = chunk_count(music.length_s)
    size = music.length_s / count
    return [Chunk(index, index * size, size, tuple(clip(music.notes, index * size, size))) for index in range(count)]


def clip(notes: Sequence[TimedNote], start_s: float, span_s: float) -> list[TimedNote]:
    """Notes sounding in [start_s, start_s + span_s), in seconds from `start_s`, clipped to the span."""
    end_s = start_s + span_s
    return [TimedNote(max(n.onset_s, start_s) - start_s, min(n.end_s, end_s) - start_s, n.pitch, n.velocity)
            for n in notes if n.onset_s < end_s and n.end_s > start_s]


def write_chunk_midi(path: Path, chunk: Chunk) -> Path:
    """The chunk's notes as a grader-style file (type 0, note messages only, 120 bpm ticks)."""
    write_notes(path, to_file_beats(chunk.notes), bpm=None)
    return path
