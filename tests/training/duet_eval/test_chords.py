"""Chord labels to pitch classes, chord spans, the song's chord distribution (literal values)."""

from __future__ import annotations

import pytest

from encore.training.duet_eval.chords import (
    ChordSpan,
    chord_at,
    chord_distribution,
    chord_span,
    parse_chord,
    pitch_class,
    read_chord_lines,
    shift_chords,
)


@pytest.mark.parametrize(("label", "pitch_classes"), [
    ("C:maj", {0, 4, 7}),
    ("C", {0, 4, 7}),
    ("A:min", {9, 0, 4}),
    ("B:maj7", {11, 3, 6, 10}),
    ("G:7", {7, 11, 2, 5}),
    ("D:min7", {2, 5, 9, 0}),
    ("Bb:maj", {10, 2, 5}),
    ("C#:min", {1, 4, 8}),
    ("Eb:sus2", {3, 5, 10}),
    ("F:sus4", {5, 10, 0}),
    ("G:sus4(b7)", {7, 0, 2, 5}),
    ("B:dim", {11, 2, 5}),
    ("C:aug", {0, 4, 8}),
    ("F#:hdim7", {6, 9, 0, 4}),
    ("Eb:dim7", {3, 6, 9, 0}),
    ("F:maj6", {5, 9, 0, 2}),
    ("A:min6", {9, 0, 4, 6}),
    ("C:minmaj7", {0, 3, 7, 11}),
    ("C:9", {0, 4, 7, 10, 2}),
    ("C:maj/3", {0, 4, 7}),
    ("C:maj/5", {0, 4, 7}),
    ("A:min/b3", {9, 0, 4}),
    ("D:min7/b7", {2, 5, 9, 0}),
    ("C:maj7/7", {0, 4, 7, 11}),
    ("C:maj/b7", {0, 4, 7, 10}),
    ("C:maj(9)", {0, 4, 7, 2}),
    ("C:maj7(*5)", {0, 4, 11}),
    ("Cb:maj", {11, 3, 6}),
    ("N", set()),
    ("X", set()),
])
def test_a_label_gives_its_pitch_classes(label: str, pitch_classes: set[int]) -> None:
    assert parse_chord(label) == frozenset(pitch_classes)


@pytest.mark.parametrize(("label", "message"), [
    ("C:foo", "chord 'C:foo': unknown quality 'foo'"),
    ("H:maj", "chord 'H:maj': not a note name: 'H'"),
    ("C:maj/x", "chord 'C:maj/x': unknown degree 'x'"),
])
def test_an_unknown_label_is_one_line(label: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_chord(label)
    assert str(error.value) == message


def test_note_names() -> None:
    assert [pitch_class(n) for n in ("C", "C#", "Db", "E", "F", "F#", "Gb", "A", "Bb", "B", "B#")] == [
        0, 1, 1, 4, 5, 6, 6, 9, 10, 11, 0]


def test_chord_lines_spans_and_lookup() -> None:
    rows = read_chord_lines(["0.5\t1.5\tN", "", "1.5 3.5 B:maj7\n"])
    assert rows == [(0.5, 1.5, "N"), (1.5, 3.5, "B:maj7")]
    spans = [chord_span(*row) for row in rows]
    assert spans[1] == ChordSpan(1.5, 3.5, "B:maj7", frozenset({11, 3, 6, 10}))
    assert chord_at(spans, 1.5) is spans[1]  # start inclusive
    assert chord_at(spans, 1.4999) is spans[0]
    assert chord_at(spans, 3.5) is None  # end exclusive
    with pytest.raises(ValueError, match="line 1: expected start, end and label"):
        read_chord_lines(["0.5 1.5"])


def test_the_distribution_weighs_chords_by_their_length_and_leaves_out_no_chord() -> None:
    spans = [chord_span(0, 4, "C:maj"), chord_span(4, 6, "N"), chord_span(6, 8, "G:maj"), chord_span(8, 10, "C:maj/3")]
    assert chord_distribution(spans) == {frozenset({0, 4, 7}): 0.75, frozenset({7, 11, 2}): 0.25}
    assert chord_distribution([chord_span(0, 4, "N")]) == {}


def test_shifted_chords_keep_their_labels() -> None:
    assert shift_chords([chord_span(0, 4, "C:maj")], -4.0) == [ChordSpan(-4.0, 0.0, "C:maj", frozenset({0, 4, 7}))]
