"""Drum pitch tables: the 9-class drum map of Magenta's GrooVAE and the General MIDI pitch of each class.

The Groove MIDI Dataset was recorded on a Roland TD-11 kit, whose notes follow the table in Gillick et al.
(2019), Table 6 (for example 22 is a closed hi-hat edge and 58 a floor-tom rim). `ROLAND_PITCH_CLASSES` is
that table reduced to 9 classes, exactly as Magenta's `ROLAND_DRUM_PITCH_CLASSES`. `GM_EXTRA_PITCH_CLASSES`
adds the other General MIDI percussion notes (from Magenta's `DEFAULT_DRUM_TYPE_PITCHES`) so that a drum
score written for any GM kit can be read too. Pitches in neither table are not drums we model and are
skipped.
"""

from __future__ import annotations

from types import MappingProxyType

#: Number of drum classes.
NUM_DRUMS = 9

#: Class names, in class-index order.
DRUM_NAMES: tuple[str, ...] = (
    "kick",
    "snare",
    "closed_hihat",
    "open_hihat",
    "low_tom",
    "mid_tom",
    "high_tom",
    "crash",
    "ride",
)

#: Roland TD-11 / GMD pitches of each class (Magenta `ROLAND_DRUM_PITCH_CLASSES`).
ROLAND_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36,),  # kick
    (38, 37, 40),  # snare head, cross-stick, rim
    (42, 22, 44),  # closed hi-hat bow, edge, pedal
    (46, 26),  # open hi-hat bow, edge
    (43, 58),  # floor tom head, rim
    (47, 45),  # tom 2 rim, head
    (50, 48),  # tom 1 rim, head
    (49, 52, 55, 57),  # crash 1, crash 2 edge, crash 1 edge, crash 2
    (51, 53, 59),  # ride bow, bell, edge
)

#: Further General MIDI percussion pitches of each class (Magenta `DEFAULT_DRUM_TYPE_PITCHES` minus the above).
GM_EXTRA_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (35,),
    (27, 28, 31, 32, 33, 34, 39, 56, 65, 66, 75, 85),
    (54, 68, 69, 70, 71, 73, 78, 80),
    (67, 72, 74, 79, 81),
    (29, 41, 61, 64, 84),
    (60, 63, 77, 86, 87),
    (30, 62, 76, 83),
    (),
    (82,),
)

#: The General MIDI pitch written for each class on output (channel 10).
CLASS_OUTPUT_PITCHES: tuple[int, ...] = (36, 38, 42, 46, 43, 47, 50, 49, 51)

#: MIDI channel of drums, 0-based as mido counts (General MIDI channel 10).
DRUM_CHANNEL = 9


def _build_pitch_to_class() -> MappingProxyType[int, int]:
    table: dict[int, int] = {}
    for classes in (ROLAND_PITCH_CLASSES, GM_EXTRA_PITCH_CLASSES):
        for index, pitches in enumerate(classes):
            for pitch in pitches:
                if pitch in table:
                    raise ValueError(f"pitch {pitch} is in two drum classes")
                table[pitch] = index
    return MappingProxyType(table)


#: Drum class of every pitch we read; pitches not listed are ignored.
PITCH_TO_CLASS: MappingProxyType[int, int] = _build_pitch_to_class()


def drum_class(pitch: int) -> int | None:
    """The drum class of a MIDI pitch, or None for a pitch outside the map.

    Args:
        pitch: MIDI note number.

    Returns:
        The class index in 0..8, or None.
    """
    return PITCH_TO_CLASS.get(pitch)
