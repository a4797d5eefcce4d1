"""Chord labels (Harte notation, as POP909's `chord_midi.txt` writes them) as pitch-class sets.

A label is `root:quality(extensions)/bass`, e.g. `B:maj7`, `C:maj/3`, `G:sus4(b7)`, or `N` (no chord).
Qualities and degrees are tables; a bass degree is added to the chord's pitch classes (an inversion's
bass is already one of them). Times stay in the caller's unit: spans are built in beats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NOTE_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
"""Pitch class of each natural note."""

DEGREES = {
    "1": 0, "b2": 1, "2": 2, "#2": 3, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7, "#5": 8,
    "b6": 8, "6": 9, "bb7": 9, "b7": 10, "7": 11, "b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6,
    "b13": 8, "13": 9,
}
"""Semitones above the root of each scale degree a label may name."""

QUALITIES = {
    "maj": ("1", "3", "5"), "min": ("1", "b3", "5"), "dim": ("1", "b3", "b5"), "aug": ("1", "3", "#5"),
    "sus2": ("1", "2", "5"), "sus4": ("1", "4", "5"), "5": ("1", "5"),
    "7": ("1", "3", "5", "b7"), "maj7": ("1", "3", "5", "7"), "min7": ("1", "b3", "5", "b7"),
    "minmaj7": ("1", "b3", "5", "7"), "dim7": ("1", "b3", "b5", "bb7"), "hdim7": ("1", "b3", "b5", "b7"),
    "aug7": ("1", "3", "#5", "b7"), "maj6": ("1", "3", "5", "6"), "min6": ("1", "b3", "5", "6"),
    "9": ("1", "3", "5", "b7", "9"), "maj9": ("1", "3", "5", "7", "9"), "min9": ("1", "b3", "5", "b7", "9"),
    "11": ("1", "3", "5", "b7", "9", "11"), "min11": ("1", "b3", "5", "b7", "9", "11"),
    "13": ("1", "3", "5", "b7", "9", "13"), "maj13": ("1", "3", "5", "7", "9", "13"),
    "min13": ("1", "b3", "5", "b7", "9", "13"),
}
"""The degrees of each chord quality (Harte's shorthands; a bare root is `maj`)."""

NO_CHORD = ("N", "X")
"""Labels for no chord (and an unknown one): beats under them are not scored."""


def pitch_class(name: str) -> int:
    """A note name's pitch class: `C` 0, `Eb` 3, `F#` 6, `Cb` 11.

    Raises:
        ValueError: not a note name.
    """
    if not name or name[0] not in NOTE_LETTERS or set(name[1:]) - {"#", "b"}:
        raise ValueError(f"not a note name: {name!r}")
    return (NOTE_LETTERS[name[0]] + name.count("#") - name.count("b")) % 12


def _degree(text: str) -> int:
    if text not in DEGREES:
        raise ValueError(f"unknown degree {text!r}")
    return DEGREES[text]


def parse_chord(label: str) -> frozenset[int]:
    """The pitch classes of a chord label; empty for `N` (no chord).

    `C:maj/3` is C major over its third (the same set); `C:maj/b7` adds B flat; `C:maj(9)` adds D,
    `C:maj7(*5)` leaves out G.

    Raises:
        ValueError: one line naming the label and what in it is unknown.
    """
    if label in NO_CHORD:
        return frozenset()
    root_text, _, rest = label.partition(":")
    rest, _, bass = rest.partition("/")
    quality, _, extensions = rest.partition("(")
    try:
        root = pitch_class(root_text)
        if (quality or "maj") not in QUALITIES:
            raise ValueError(f"unknown quality {quality!r}")
        degrees = {_degree(d) for d in QUALITIES[quality or "maj"]}
        for extension in filter(None, extensions.rstrip(")").split(",")):
            if extension.startswith("*"):
                degrees.discard(_degree(extension[1:]))
            else:
                degrees.add(_degree(extension))
        if bass:
            degrees.add(_degree(bass))
    except ValueError as error:
        raise ValueError(f"chord {label!r}: {error}") from None
    return frozenset((root + degree) % 12 for degree in degrees)


@dataclass(frozen=True)
class ChordSpan:
    """A chord sounding from `start` to `end` (beats), its label and pitch classes (empty: no chord)."""

    start: float
    end: float
    label: str
    pitch_classes: frozenset[int]


def chord_span(start: float, end: float, label: str) -> ChordSpan:
    """A span with its label parsed (`parse_chord`)."""
    return ChordSpan(start, end, label, parse_chord(label))


def read_chord_lines(lines: Iterable[str]) -> list[tuple[float, float, str]]:
    """`start end label` lines (POP909's `chord_midi.txt`; blank lines skipped) as tuples, times as written.

    Raises:
        ValueError: a line that is not two numbers and a label.
    """
    rows = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise ValueError(f"line {number}: expected start, end and label, got {line.strip()!r}")
        rows.append((float(fields[0]), float(fields[1]), fields[2]))
    return rows


def chord_at(chords: Sequence[ChordSpan], beat: float) -> ChordSpan | None:
    """The span sounding at `beat` (start inclusive, end exclusive), or None."""
    return next((chord for chord in chords if chord.start <= beat < chord.end), None)


def chord_distribution(chords: Iterable[ChordSpan]) -> dict[frozenset[int], float]:
    """How long each pitch-class set sounds, as shares of the time under a chord (`N` left out)."""
    weights: dict[frozenset[int], float] = {}
    for chord in chords:
        if chord.pitch_classes and chord.end > chord.start:
            weights[chord.pitch_classes] = weights.get(chord.pitch_classes, 0.0) + chord.end - chord.start
    total = sum(weights.values())
    return {pcs: weight / total for pcs, weight in weights.items()} if total else {}


def shift_chords(chords: Iterable[ChordSpan], beats: float) -> list[ChordSpan]:
    """The same spans `beats` later (earlier if negative): the control that the rate follows the chords."""
    return [ChordSpan(c.start + beats, c.end + beats, c.label, c.pitch_classes) for c in chords]
