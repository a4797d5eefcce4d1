"""POP909 songs for the duet evaluation: the parts, the beat grid, the chords, and the window played.

A song's beats are counted from its first annotated beat (`beat_midi.txt`), so notes land on whole
beats (the MIDI files' own grid is often offset by a few ticks). A bar is the annotation's four-beat
bar in duple songs (two of the index's 2/4 measures) and its measure in triple ones; songs whose tempo
changes, or in compound metre, are skipped with the reason.

The window: `bars` bars from the first bar line at or before the melody's first note, but no earlier
than `seed_bars` bars in; the seed is the PIANO part of the `seed_bars` bars before it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mido

from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import (
    ChordSpan,
    chord_distribution,
    chord_span,
    read_chord_lines,
    shift_chords,
)
from encore.training.piano.sources import split_of

TRACKS = ("MELODY", "BRIDGE", "PIANO")
"""POP909's parts: the melody (the performer's), a secondary melody and the accompaniment."""
REAL_ACCOMPANIMENT = ("PIANO", "BRIDGE")
"""The parts that make the song's real accompaniment."""
BEAT_TOLERANCE = 0.05
"""Each annotated beat may stray this much (in beats) from the MIDI tempo's grid."""


class SongSkipped(Exception):
    """A song the evaluation cannot play as asked; the message is the reason."""


@dataclass(frozen=True)
class Pop909Song:
    """One song read: tempo, metre, bar grid, parts and chords, in song beats.

    Attributes:
        measure_beats: The index's measure (2 or 3 beats): the seed's time signature, as training reads it.
        bar_beats: The evaluation's bar: 4 beats in duple songs, 3 in triple ones.
        first_bar: Song beat of the first annotated bar line.
        length_beats: Song beats through the last annotated beat.
    """

    song_id: str
    bpm: float
    measure_beats: int
    bar_beats: int
    first_bar: float
    length_beats: float
    tracks: Mapping[str, tuple[NoteEvent, ...]]
    chords: tuple[ChordSpan, ...]


@dataclass(frozen=True)
class SongWindow:
    """The stretch of a song played and scored; times in beats from the window's first bar line.

    Attributes:
        start_beats: Song beat of the window's start.
        seed: The PIANO notes of the seed bars, in beats from the seed's first bar line.
        seed_beats: The seed's length (its bars).
        melody: MELODY notes sounding from the seed's start to the window's end (onsets may be negative).
        accompaniment: The real accompaniment (PIANO and BRIDGE) with onsets in the window.
        chords: The annotated chords from the seed's start to a bar past the window.
        distribution: The whole song's chord distribution.
    """

    song_id: str
    bpm: float
    measure_beats: int
    bar_beats: int
    start_beats: float
    window_beats: float
    seed: tuple[NoteEvent, ...]
    seed_beats: float
    melody: tuple[NoteEvent, ...]
    accompaniment: tuple[NoteEvent, ...]
    chords: tuple[ChordSpan, ...]
    distribution: Mapping[frozenset[int], float]


def pop909_folder(data_root: Path) -> Path:
    """`data_root/pop909`, checked.

    Raises:
        EncoreError: one line naming the data root when POP909's index is not there.
    """
    folder = data_root / "pop909"
    if not (folder / "index.csv").is_file():
        raise EncoreError(f"no POP909 data under {data_root} (no pop909/index.csv): "
                          "give --data-root or set ENCORE_DATA")
    return folder


def read_index(folder: Path) -> dict[str, tuple[int, int]]:
    """Song id (`"003"`) to `(num_beats_per_measure, num_quavers_per_beat)` from POP909's `index.csv`."""
    with open(folder / "index.csv", encoding="utf-8") as handle:
        return {row["song_id"].zfill(3): (int(row["num_beats_per_measure"]), int(row["num_quavers_per_beat"]))
                for row in csv.DictReader(handle)}


def split_songs(folder: Path, split: str) -> list[str]:
    """The ids of a split's songs (`split_of`, as the piano model's data split them), in order."""
    return [song for song in sorted(read_index(folder)) if split_of(song) == split]


def _onset_order(note: NoteEvent) -> tuple[float, int]:
    return note.onset_beats, note.pitch


def _midi_parts(path: Path) -> tuple[float, dict[str, list[tuple[float, int, int, float]]]]:
    """The one tempo (bpm) and each named part's notes as `(onset_s, pitch, velocity, end_s)`.

    Raises:
        SongSkipped: the tempo changes.
    """
    midi = mido.MidiFile(path)
    tempos = {message.tempo for track in midi.tracks for message in track if message.type == "set_tempo"}
    if len(tempos) > 1:
        raise SongSkipped(f"tempo changes ({len(tempos)} tempos)")
    tempo = tempos.pop() if tempos else 500_000

    def seconds(tick: int) -> float:
        return tick * tempo / (1e6 * midi.ticks_per_beat)

    parts: dict[str, list[tuple[float, int, int, float]]] = {}
    for track in midi.tracks:
        if track.name not in TRACKS:
            continue
        tick, held, notes = 0, {}, []
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                held.setdefault(message.note, []).append((tick, message.velocity))
            elif message.type in ("note_on", "note_off") and held.get(message.note):
                start, velocity = held[message.note].pop(0)
                notes.append((seconds(start), message.note, velocity, seconds(tick)))
        parts[track.name] = notes
    return mido.tempo2bpm(tempo), parts


def _beats(path: Path) -> list[tuple[float, bool, bool]]:
    """`beat_midi.txt`: each beat's time and whether it starts a measure, and a two-measure bar."""
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(float(row[0]), float(row[1]) > 0, float(row[2]) > 0) for row in rows]


def read_song(folder: Path, song_id: str, metre: tuple[int, int]) -> Pop909Song:
    """Read a song from `folder/song_id` with its index `metre` (beats per measure, quavers per beat).

    Raises:
        SongSkipped: tempo changes, compound metre, no annotated bar line, or beats off the tempo's grid.
    """
    beats_per_measure, quavers = metre
    if quavers != 2 or beats_per_measure not in (2, 3):
        raise SongSkipped(f"metre {beats_per_measure} beats of {quavers} quavers (only 2/4 and 3/4 are played)")
    song = folder / song_id
    bpm, parts = _midi_parts(song / f"{song_id}.mid")
    beats = _beats(song / "beat_midi.txt")
    origin, beat_s = beats[0][0], 60.0 / bpm
    if any(abs((time - origin) / beat_s - index) > BEAT_TOLERANCE for index, (time, _, _) in enumerate(beats)):
        raise SongSkipped("the annotated beats do not follow the MIDI tempo")
    bar_column = 2 if beats_per_measure == 2 else 1  # duple: the annotation's two-measure (4-beat) bars
    first_bar = next((index for index, row in enumerate(beats) if row[bar_column]), None)
    if first_bar is None:
        raise SongSkipped("no annotated bar line")

    def to_beats(seconds: float) -> float:
        return (seconds - origin) / beat_s

    tracks = {name: tuple(sorted((NoteEvent(to_beats(on), pitch, velocity, (end - on) / beat_s)
                                  for on, pitch, velocity, end in parts.get(name, [])), key=_onset_order))
              for name in TRACKS}
    lines = (song / "chord_midi.txt").read_text(encoding="utf-8").splitlines()
    chords = tuple(chord_span(to_beats(start), to_beats(end), label) for start, end, label in read_chord_lines(lines))
    return Pop909Song(song_id, bpm, beats_per_measure, 4 if beats_per_measure == 2 else 3, float(first_bar),
                      float(len(beats)), tracks, chords)


def song_window(song: Pop909Song, bars: int, seed_bars: int) -> SongWindow:
    """The window of `bars` bars the evaluation plays, and its seed (module docstring).

    Raises:
        SongSkipped: no melody, too short, or no PIANO notes in the seed bars.
    """
    melody = song.tracks["MELODY"]
    if not melody:
        raise SongSkipped("no melody")
    bar = song.bar_beats
    first_melody_bar = math.floor((melody[0].onset_beats - song.first_bar) / bar + 1e-9)
    start = song.first_bar + max(first_melody_bar, seed_bars) * bar
    window, seed_beats = float(bars * bar), float(seed_bars * bar)
    if start + window > song.length_beats:
        raise SongSkipped(f"shorter than {seed_bars} + {bars} bars from its melody's first bar")
    seed_start = start - seed_beats
    seed = tuple(NoteEvent(n.onset_beats - seed_start, n.pitch, n.velocity, n.duration_beats)
                 for n in song.tracks["PIANO"] if seed_start <= n.onset_beats < start)
    if not seed:
        raise SongSkipped("no PIANO notes in the seed bars")

    def moved(n: NoteEvent) -> NoteEvent:
        return NoteEvent(n.onset_beats - start, n.pitch, n.velocity, n.duration_beats)

    real = sorted((n for name in REAL_ACCOMPANIMENT for n in song.tracks[name]), key=_onset_order)
    chords = shift_chords([c for c in song.chords if c.end > seed_start and c.start < start + window + bar], -start)
    return SongWindow(
        song_id=song.song_id, bpm=song.bpm, measure_beats=song.measure_beats, bar_beats=bar, start_beats=start,
        window_beats=window, seed=seed, seed_beats=seed_beats,
        melody=tuple(moved(n) for n in melody if n.end_beats > seed_start and n.onset_beats < start + window),
        accompaniment=tuple(moved(n) for n in real if start <= n.onset_beats < start + window),
        chords=tuple(chords), distribution=chord_distribution(song.chords),
    )
