"""From the model's beats to the entry's seconds: a tempo map and notes timed in seconds.

The model writes music in beats and chooses its tempo with Tempo tokens. An entry is played at
120 bpm with no tempo events, so every beat is converted at the model's own tempo to seconds here,
once, and the seconds become 120-bpm beats (two per second) only when the file is written.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from encore.models.notes import NoteEvent

#: Beats per second of the file the grader plays (120 bpm).
FILE_BEATS_PER_S = 2.0
#: Shortest note kept where a key is released for its next note (two ticks of a 480-tick, 120-bpm file).
MIN_NOTE_S = 0.0021


@dataclass(frozen=True, slots=True)
class TimedNote:
    """One note in seconds from the start of the entry."""

    onset_s: float
    end_s: float
    pitch: int
    velocity: int


class TempoMap:
    """Piecewise-constant tempo over beats, for one stream: seconds at any beat.

    Args:
        bpm: Tempo from `start_beats` on.
        start_beats: Beat at which the map starts (second 0).
    """

    def __init__(self, bpm: float, start_beats: float = 0.0) -> None:
        self._beats = [start_beats]
        self._seconds = [0.0]
        self._bpm = [bpm]

    @property
    def bpm(self) -> float:
        """The latest tempo."""
        return self._bpm[-1]

    @property
    def changed_at_beats(self) -> float:
        """Beat of the latest tempo change (or the start)."""
        return self._beats[-1]

    def set_tempo(self, beat: float, bpm: float) -> None:
        """The tempo changes to `bpm` at `beat` (not before the latest change)."""
        if bpm == self._bpm[-1]:
            return
        if beat < self._beats[-1]:
            raise ValueError(f"tempo change at beat {beat} before the previous one at {self._beats[-1]}")
        seconds = self.seconds(beat)
        if beat == self._beats[-1]:
            self._bpm[-1] = bpm
            return
        self._beats.append(beat)
        self._seconds.append(seconds)
        self._bpm.append(bpm)

    def seconds(self, beat: float) -> float:
        """Seconds from the map's start to `beat` (beats before the start count at the first tempo)."""
        index = max(0, bisect.bisect_right(self._beats, beat) - 1)
        return self._seconds[index] + (beat - self._beats[index]) * 60.0 / self._bpm[index]


def timed_notes(notes: Iterable[NoteEvent], tempo: TempoMap, origin_beats: float, end_beats: float,
                offset_s: float = 0.0) -> list[TimedNote]:
    """Notes starting in [origin_beats, end_beats), in seconds from `offset_s` at `origin_beats`.

    Each note's end is converted through the tempo map too and clipped at `end_beats`, so a
    segment never sounds into the next one.
    """
    origin_s = tempo.seconds(origin_beats)
    end_s = tempo.seconds(end_beats)
    timed = []
    for note in notes:
        if not origin_beats <= note.onset_beats < end_beats:
            continue
        onset = tempo.seconds(note.onset_beats)
        end = min(tempo.seconds(note.end_beats), end_s)
        timed.append(TimedNote(offset_s + onset - origin_s, offset_s + end - origin_s, note.pitch, note.velocity))
    return timed


def trim(notes: Sequence[TimedNote], end_s: float) -> list[TimedNote]:
    """Notes that start before `end_s`, each released by `end_s` at the latest."""
    return [TimedNote(n.onset_s, min(n.end_s, end_s), n.pitch, n.velocity) for n in notes if n.onset_s < end_s]


def release_overlaps(notes: Sequence[TimedNote]) -> list[TimedNote]:
    """Notes sorted by (onset, pitch), each released where the next note of its pitch starts.

    A key cannot sound twice. The MIDI writer cuts a re-struck key the same way; doing it here keeps
    the entry's notes (which the report reads) equal to what the file holds. A note left shorter than
    `MIN_NOTE_S` (a duplicate, in effect) is dropped.
    """
    ordered = sorted(notes, key=lambda n: (n.onset_s, n.pitch))
    next_onset: dict[int, float] = {}
    released: list[TimedNote] = []
    for note in reversed(ordered):
        end = min(note.end_s, next_onset.get(note.pitch, note.end_s))
        if end - note.onset_s < MIN_NOTE_S and note.pitch in next_onset:
            continue
        released.append(note if end == note.end_s else TimedNote(note.onset_s, end, note.pitch, note.velocity))
        next_onset[note.pitch] = note.onset_s
    return released[::-1]


def to_file_beats(notes: Iterable[TimedNote]) -> list[NoteEvent]:
    """Notes in beats of a 120-bpm file (two beats a second), ready for `midi_writer.write_notes`."""
    return [NoteEvent(n.onset_s * FILE_BEATS_PER_S, n.pitch, n.velocity, (n.end_s - n.onset_s) * FILE_BEATS_PER_S)
            for n in notes]
