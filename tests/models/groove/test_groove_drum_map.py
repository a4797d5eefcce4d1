"""The 9-class drum map and its General MIDI output pitches, as literal tables."""

from __future__ import annotations

import pytest

from encore.models.groove.drum_map import (
    CLASS_OUTPUT_PITCHES,
    DRUM_NAMES,
    NUM_DRUMS,
    PITCH_TO_CLASS,
    drum_class,
)

# Every Roland TD-11 pitch of the Groove MIDI Dataset and its Magenta class.
ROLAND = {
    36: "kick",
    38: "snare", 37: "snare", 40: "snare",
    42: "closed_hihat", 22: "closed_hihat", 44: "closed_hihat",
    46: "open_hihat", 26: "open_hihat",
    43: "low_tom", 58: "low_tom",
    47: "mid_tom", 45: "mid_tom",
    50: "high_tom", 48: "high_tom",
    49: "crash", 52: "crash", 55: "crash", 57: "crash",
    51: "ride", 53: "ride", 59: "ride",
}


@pytest.mark.parametrize(("pitch", "name"), sorted(ROLAND.items()))
def test_roland_pitch_class(pitch: int, name: str) -> None:
    assert DRUM_NAMES[drum_class(pitch)] == name


def test_output_pitches_are_general_midi() -> None:
    assert dict(zip(DRUM_NAMES, CLASS_OUTPUT_PITCHES, strict=True)) == {
        "kick": 36, "snare": 38, "closed_hihat": 42, "open_hihat": 46, "low_tom": 43,
        "mid_tom": 47, "high_tom": 50, "crash": 49, "ride": 51,
    }
    assert all(drum_class(p) == i for i, p in enumerate(CLASS_OUTPUT_PITCHES))


def test_other_general_midi_pitches_and_unknown_ones() -> None:
    assert drum_class(35) == 0  # acoustic bass drum
    assert drum_class(39) == 1  # hand clap
    assert drum_class(82) == 8  # shaker
    assert drum_class(60) == 5  # hi bongo
    assert drum_class(21) is None and drum_class(100) is None
    assert set(PITCH_TO_CLASS.values()) == set(range(NUM_DRUMS))
