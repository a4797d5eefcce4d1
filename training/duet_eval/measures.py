"""The duet's measures: a part's notes against the song's chords and the performer's melody (pure functions).

Everything is in beats from the start of the scored window; a part's notes count when their onset is
inside it. Definitions (docs/duet.md):

- **chord-tone rate**: over every beat of the window under a chord (not `N`) and every note sounding in
  that beat (a long note counts in each beat it sounds in), the share whose pitch class is in the chord
  sounding at the beat's middle;
- **chance level**: the same (beat, note) pairs, each scored as the chance that its pitch class is in a
  chord drawn from the song's whole chord distribution (weighted by how long each chord sounds);
- **shifted chords**: the chord-tone rate against the chords moved a bar earlier and a bar later (pooled);
- **clash rate**: share of notes that sound together with a melody note a semitone away in pitch class
  (a minor second, major seventh or minor ninth);
- **aligned onsets**: share of the part's distinct onset times within 50 ms of a melody onset;
- **doubling**: share of notes whose pitch class is that of a melody note sounding at their onset;
- **echo**: share of notes at the exact pitch of a melody note that started within the beat before and
  had ended by their onset (the melody's previous pitch played back);
- **notes at C4 or above**: share of notes with MIDI pitch 60 or higher.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import ChordSpan, chord_at, shift_chords

MIDDLE_C = 60
"""C4: the lowest pitch counted as the melody's register."""
ALIGN_S = 0.05
"""An onset within this many seconds of a melody onset is aligned with it."""
CLASH_INTERVALS = (1, 11)
"""Pitch-class distances that clash: a semitone either way (minor second, major seventh, minor ninth)."""


@dataclass(frozen=True)
class Scoring:
    """What a part is scored against, in beats from the window's start.

    Attributes:
        melody: The performer's notes (the song's MELODY part over the window).
        chords: The annotated chords over (at least) the window.
        distribution: The song's overall chord distribution (`chords.chord_distribution`).
        window_beats: The window's length.
        bpm: The song's tempo.
        bar_beats: Beats per bar (the shifted-chords control moves the chords by one).
    """

    melody: tuple[NoteEvent, ...]
    chords: tuple[ChordSpan, ...]
    distribution: Mapping[frozenset[int], float]
    window_beats: float
    bpm: float
    bar_beats: float


@dataclass(frozen=True)
class PartMeasures:
    """One part's measures over the window (None: nothing to count, e.g. no notes)."""

    notes: int
    notes_per_s: float
    chord_tone_rate: float | None
    chance_rate: float | None
    shifted_chord_rate: float | None
    clash_rate: float | None
    aligned_onsets: float | None
    doubling_rate: float | None
    echo_rate: float | None
    high_share: float | None


def share(hits: int | float, total: int | float) -> float | None:
    """`hits / total`, or None when there is nothing to count."""
    return hits / total if total else None


def in_window(notes: Iterable[NoteEvent], window_beats: float) -> list[NoteEvent]:
    """The notes whose onset lies in `[0, window_beats)`, in onset order."""
    return sorted((n for n in notes if 0.0 <= n.onset_beats < window_beats), key=lambda n: (n.onset_beats, n.pitch))


def beat_pitches(notes: Iterable[NoteEvent], window_beats: float) -> list[tuple[int, int]]:
    """`(beat, pitch)` for every whole beat of the window each note sounds in (a zero-length note: its onset's)."""
    beats = math.ceil(window_beats)
    pairs = []
    for note in notes:
        first = math.floor(note.onset_beats)
        last = max(first, math.ceil(note.end_beats) - 1)
        pairs.extend((beat, note.pitch) for beat in range(max(first, 0), min(last, beats - 1) + 1))
    return pairs


def chord_tone_counts(notes: Iterable[NoteEvent], chords: Sequence[ChordSpan], window_beats: float) -> tuple[int, int]:
    """`(chord tones, pairs)` over the (beat, note) pairs under a chord."""
    hits = total = 0
    for beat, pitch in beat_pitches(notes, window_beats):
        chord = chord_at(chords, beat + 0.5)
        if chord is not None and chord.pitch_classes:
            total += 1
            hits += pitch % 12 in chord.pitch_classes
    return hits, total


def chord_tone_rate(notes: Iterable[NoteEvent], chords: Sequence[ChordSpan], window_beats: float) -> float | None:
    """Share of (beat, note) pairs under a chord whose pitch class is in it."""
    return share(*chord_tone_counts(notes, chords, window_beats))


def chance_rate(notes: Iterable[NoteEvent], chords: Sequence[ChordSpan], distribution: Mapping[frozenset[int], float],
                window_beats: float) -> float | None:
    """The chord-tone rate expected of the same pairs if each beat's chord were drawn from `distribution`."""
    expected = total = 0.0
    for beat, pitch in beat_pitches(notes, window_beats):
        chord = chord_at(chords, beat + 0.5)
        if chord is not None and chord.pitch_classes:
            total += 1
            expected += sum(weight for pcs, weight in distribution.items() if pitch % 12 in pcs)
    return share(expected, total)


def shifted_chord_rate(notes: Sequence[NoteEvent], chords: Sequence[ChordSpan], window_beats: float,
                       bar_beats: float) -> float | None:
    """The chord-tone rate against the chords a bar earlier and a bar later, pooled."""
    counts = [chord_tone_counts(notes, shift_chords(chords, shift), window_beats) for shift in (-bar_beats, bar_beats)]
    return share(sum(h for h, _ in counts), sum(t for _, t in counts))


def _overlap(a: NoteEvent, b: NoteEvent) -> bool:
    return a.onset_beats < b.end_beats and b.onset_beats < a.end_beats


def clash_rate(notes: Sequence[NoteEvent], melody: Sequence[NoteEvent]) -> float | None:
    """Share of notes sounding together with a melody note a semitone away in pitch class."""
    clashes = sum(any(_overlap(n, m) and (n.pitch - m.pitch) % 12 in CLASH_INTERVALS for m in melody) for n in notes)
    return share(clashes, len(notes))


def aligned_onsets(notes: Sequence[NoteEvent], melody: Sequence[NoteEvent], tolerance_beats: float) -> float | None:
    """Share of the notes' distinct onset times within `tolerance_beats` of a melody onset (None without a melody)."""
    if not melody:
        return None
    onsets = sorted({round(n.onset_beats, 6) for n in notes})
    targets = [m.onset_beats for m in melody]
    aligned = sum(min(abs(onset - t) for t in targets) <= tolerance_beats + 1e-9 for onset in onsets)
    return share(aligned, len(onsets))


def doubling_rate(notes: Sequence[NoteEvent], melody: Sequence[NoteEvent]) -> float | None:
    """Share of notes with the pitch class of a melody note sounding at their onset."""
    doubled = sum(any(m.onset_beats <= n.onset_beats < m.end_beats and (m.pitch - n.pitch) % 12 == 0 for m in melody)
                  for n in notes)
    return share(doubled, len(notes))


def echo_rate(notes: Sequence[NoteEvent], melody: Sequence[NoteEvent]) -> float | None:
    """Share of notes at the pitch of a melody note begun within the beat before and ended by their onset."""
    echoes = sum(any(n.onset_beats - 1.0 <= m.onset_beats < n.onset_beats and m.end_beats <= n.onset_beats
                     and m.pitch == n.pitch for m in melody) for n in notes)
    return share(echoes, len(notes))


def high_share(notes: Sequence[NoteEvent], lowest: int = MIDDLE_C) -> float | None:
    """Share of notes at `lowest` (C4) or above."""
    return share(sum(n.pitch >= lowest for n in notes), len(notes))


def notes_per_s(count: int, window_beats: float, bpm: float) -> float:
    """Note onsets per second over a window of `window_beats` at `bpm`."""
    return count / (window_beats * 60.0 / bpm)


def transpose(notes: Iterable[NoteEvent], semitones: int) -> list[NoteEvent]:
    """The notes moved by `semitones` (the tritone floor: 6), kept on the MIDI keyboard."""
    return [NoteEvent(n.onset_beats, min(127, max(0, n.pitch + semitones)), n.velocity, n.duration_beats) for n in notes]


def measure_part(notes: Iterable[NoteEvent], scoring: Scoring) -> PartMeasures:
    """Every measure of a part's notes with onsets in the window."""
    window = in_window(notes, scoring.window_beats)
    melody = scoring.melody
    return PartMeasures(
        notes=len(window),
        notes_per_s=notes_per_s(len(window), scoring.window_beats, scoring.bpm),
        chord_tone_rate=chord_tone_rate(window, scoring.chords, scoring.window_beats),
        chance_rate=chance_rate(window, scoring.chords, scoring.distribution, scoring.window_beats),
        shifted_chord_rate=shifted_chord_rate(window, scoring.chords, scoring.window_beats, scoring.bar_beats),
        clash_rate=clash_rate(window, melody),
        aligned_onsets=aligned_onsets(window, melody, ALIGN_S * scoring.bpm / 60.0),
        doubling_rate=doubling_rate(window, melody),
        echo_rate=echo_rate(window, melody),
        high_share=high_share(window),
    )
