"""REMI+ tokens to notes in seconds: the streaming decoder's notes (in beats) through the Tempo tokens' map.

Tempo tokens set the tempo from their Position on (MidiTok's reading; 120 bpm before the first one), so
seconds are integrated piecewise over the tempo map, as symusic's `to("second")` does.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import NamedTuple

from encore.models.notes import NoteEvent
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder, TokenTable

DEFAULT_TEMPO_QPM = 120.0


class TimedNote(NamedTuple):
    """One note in seconds (picklable, for the render workers)."""

    onset_s: float
    pitch: int
    velocity: int
    duration_s: float


class TempoMap:
    """Beats to seconds under tempo changes `(beat, quarter notes per minute)`, sorted by beat."""

    def __init__(self, changes: Sequence[tuple[float, float]] = ()) -> None:
        points = [(0.0, DEFAULT_TEMPO_QPM)]
        for beat, qpm in changes:
            if beat <= points[-1][0]:
                points[-1] = (points[-1][0], qpm)
            else:
                points.append((beat, qpm))
        self.beats = [beat for beat, _ in points]
        self.qpm = [qpm for _, qpm in points]
        self.seconds = [0.0]
        for index in range(1, len(points)):
            span = self.beats[index] - self.beats[index - 1]
            self.seconds.append(self.seconds[-1] + span * 60.0 / self.qpm[index - 1])

    def to_seconds(self, beat: float) -> float:
        """The time in seconds of `beat`."""
        index = max(0, bisect.bisect_right(self.beats, beat) - 1)
        return self.seconds[index] + (beat - self.beats[index]) * 60.0 / self.qpm[index]


class Decoded(NamedTuple):
    """The notes that `tokens[start:]` complete, in beats, with the beat reached at `start` and the tempo map:
    one decoding that gives both the notes in seconds and the onsets in beats."""

    notes: list[NoteEvent]
    start_beat: float
    tempo: TempoMap

    def timed_notes(self) -> list[TimedNote]:
        """The notes in seconds from the time reached at `start`."""
        origin = self.tempo.to_seconds(self.start_beat)
        result = []
        for note in self.notes:
            onset = self.tempo.to_seconds(note.onset_beats)
            result.append(TimedNote(onset - origin, note.pitch, note.velocity,
                                    self.tempo.to_seconds(note.end_beats) - onset))
        return result

    def beat_onsets(self) -> list[float]:
        """The onsets in beats from the beat reached at `start`: what a listener hears at a fixed tempo,
        whatever the Tempo tokens say."""
        return [note.onset_beats - self.start_beat for note in self.notes]


def decode(table: TokenTable, tokens: Sequence[int], start: int = 0) -> Decoded:
    """Decode the whole sequence; keep the notes of `tokens[start:]`.

    A completion so inherits its prompt's bar, time signature and tempo; notes completed by the prompt are
    left out.
    """
    decoder = StreamingDecoder(table)
    kinds, values, tempos = table.kinds, table.values, table.tempos
    changes: list[tuple[float, float]] = []
    beat_notes: list[NoteEvent] = []
    start_beat = 0.0
    for index, token in enumerate(tokens):
        if index == start:
            start_beat = decoder.position_beats
        notes = decoder.feed(token)
        if kinds[token] == Kind.TEMPO:
            changes.append((decoder.position_beats, tempos[values[token]]))
        if index >= start:
            beat_notes.extend(notes)
    if start >= len(tokens):
        start_beat = decoder.position_beats
    return Decoded(beat_notes, start_beat, TempoMap(changes))


def timed_notes(table: TokenTable, tokens: Sequence[int], start: int = 0) -> list[TimedNote]:
    """The notes of `tokens[start:]` in seconds from the time reached after `tokens[:start]` (`decode`)."""
    return decode(table, tokens, start).timed_notes()


def beat_onsets(table: TokenTable, tokens: Sequence[int], start: int = 0) -> list[float]:
    """The onsets of the notes of `tokens[start:]` in beats from the beat reached after `tokens[:start]`."""
    return decode(table, tokens, start).beat_onsets()
