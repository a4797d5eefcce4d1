"""The duet's measures on a hand-made bar of notes, chords and melody, with literal expected values.

The scene (120 bpm, 8 beats, a bar is 4): C major over beats 0-4, no chord over 4-6, G major over 6-8.

    part:   C3 (48) 0.0-2.0    D4 (62) 1.5-2.5    E4 (64) 4.0-5.0    G4 (67) 6.0-6.5    B4 (71) 7.0-8.0
    melody: C5 (72) 0.0-1.0    C#5 (73) 1.0-2.0   B4 (71) 6.0-7.0
"""

from __future__ import annotations

import pytest

from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import chord_distribution, chord_span
from encore.training.duet_eval.measures import (
    PartMeasures,
    Scoring,
    aligned_onsets,
    beat_pitches,
    chance_rate,
    chord_tone_rate,
    clash_rate,
    doubling_rate,
    echo_rate,
    high_share,
    in_window,
    measure_part,
    notes_per_s,
    share,
    shifted_chord_rate,
    transpose,
)

CHORDS = (chord_span(0, 4, "C:maj"), chord_span(4, 6, "N"), chord_span(6, 8, "G:maj"))
PART = [NoteEvent(0.0, 48, 80, 2.0), NoteEvent(1.5, 62, 80, 1.0), NoteEvent(4.0, 64, 80, 1.0),
        NoteEvent(6.0, 67, 80, 0.5), NoteEvent(7.0, 71, 80, 1.0)]
MELODY = (NoteEvent(0.0, 72, 90, 1.0), NoteEvent(1.0, 73, 90, 1.0), NoteEvent(6.0, 71, 90, 1.0))
DISTRIBUTION = chord_distribution(CHORDS)  # C major 4 beats, G major 2: 2/3 and 1/3


def test_each_note_counts_in_every_beat_it_sounds_in() -> None:
    assert beat_pitches(PART, 8.0) == [(0, 48), (1, 48), (1, 62), (2, 62), (4, 64), (6, 67), (7, 71)]
    assert beat_pitches([NoteEvent(7.5, 60, 80, 3.0), NoteEvent(3.0, 61, 80, 0.0)], 8.0) == [(7, 60), (3, 61)]


def test_chord_tone_rate_and_chance_level() -> None:
    # Under a chord: C3 twice (in C), D4 twice (not in C), G4 (in G), B4 (in G); E4 is under no chord.
    assert chord_tone_rate(PART, CHORDS, 8.0) == pytest.approx(4 / 6)
    # Chance: C in C only (2/3, twice), D in G only (1/3, twice), G in both (1), B in G only (1/3).
    assert chance_rate(PART, CHORDS, DISTRIBUTION, 8.0) == pytest.approx((2 / 3 * 2 + 1 / 3 * 2 + 1 + 1 / 3) / 6)
    # A bar early: N over beats 0-2, G over 2-4 (D4 in beat 2 is a chord tone). A bar late: C over 4-8
    # (E4 and G4 in, B4 out). Pooled: 3 of 4.
    assert shifted_chord_rate(PART, CHORDS, 8.0, 4.0) == pytest.approx(0.75)
    assert chord_tone_rate(PART, (chord_span(0, 8, "N"),), 8.0) is None


def test_clash_doubling_echo_alignment_and_register() -> None:
    # C3 sounds with C#5 and D4 with C#5: a semitone apart in pitch class; B4 starts as the melody's B4 ends.
    assert clash_rate(PART, MELODY) == pytest.approx(2 / 5)
    assert doubling_rate(PART, MELODY) == pytest.approx(1 / 5)  # C3 under C5
    assert echo_rate(PART, MELODY) == pytest.approx(1 / 5)  # B4 right after the melody's B4
    assert aligned_onsets(PART, MELODY, 0.1) == pytest.approx(2 / 5)  # onsets 0 and 6 of 0, 1.5, 4, 6, 7
    assert aligned_onsets([NoteEvent(1.08, 60, 80, 1.0)], MELODY, 0.1) == 1.0
    assert aligned_onsets(PART, (), 0.1) is None
    assert high_share(PART) == pytest.approx(4 / 5)
    assert notes_per_s(5, 8.0, 120.0) == 1.25


def test_helpers() -> None:
    assert share(1, 4) == 0.25 and share(0, 0) is None
    assert in_window([NoteEvent(8.0, 60, 80, 1.0), NoteEvent(3.0, 62, 80, 1.0), NoteEvent(-0.5, 64, 80, 1.0)], 8.0) == [
        NoteEvent(3.0, 62, 80, 1.0)]
    assert transpose([NoteEvent(1.0, 60, 80, 1.0), NoteEvent(2.0, 125, 80, 1.0)], 6) == [
        NoteEvent(1.0, 66, 80, 1.0), NoteEvent(2.0, 127, 80, 1.0)]


def test_measure_part_scores_the_notes_in_the_window() -> None:
    scoring = Scoring(MELODY, CHORDS, DISTRIBUTION, 8.0, 120.0, 4.0)
    late = NoteEvent(8.0, 61, 80, 1.0)  # outside the window: not counted
    measures = measure_part([*PART, late], scoring)
    assert measures == PartMeasures(
        notes=5, notes_per_s=1.25, chord_tone_rate=pytest.approx(4 / 6), chance_rate=pytest.approx(5 / 9),
        shifted_chord_rate=pytest.approx(0.75), clash_rate=pytest.approx(0.4), aligned_onsets=pytest.approx(0.4),
        doubling_rate=pytest.approx(0.2), echo_rate=pytest.approx(0.2), high_share=pytest.approx(0.8))
    empty = measure_part([], scoring)
    assert (empty.notes, empty.notes_per_s, empty.chord_tone_rate, empty.clash_rate, empty.aligned_onsets) == (
        0, 0.0, None, None, None)
