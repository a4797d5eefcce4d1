"""Raw MIDI bytes from a controller or keyboard, read into the few messages a controller surface uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL_CHANGE = 0xB0
BUTTON_THRESHOLD = 64
"""A CC value at or above this presses a button control (as MIDI's own switch controllers read)."""

Kind = Literal["cc", "note_on", "note_off"]
KINDS: dict[int, Kind] = {CONTROL_CHANGE: "cc", NOTE_ON: "note_on", NOTE_OFF: "note_off"}


@dataclass(frozen=True)
class ControllerMessage:
    """A control change or a note, as a controller sent it.

    Attributes:
        kind: `cc`, `note_on` or `note_off` (a note-on with velocity 0 is a note-off).
        channel: MIDI channel, 1-16 as controllers and mapping files count them.
        number: Controller number or note (0-127).
        value: Controller value or velocity (0-127).
    """

    kind: Kind
    channel: int
    number: int
    value: int

    @property
    def is_note(self) -> bool:
        """A note-on or note-off."""
        return self.kind != "cc"


def parse(data: Sequence[int]) -> ControllerMessage | None:
    """The message in `data` (one complete MIDI message), or None for anything else (clock, sysex, ...)."""
    if len(data) != 3 or not 0x80 <= data[0] < 0xF0:
        return None
    kind = KINDS.get(data[0] & 0xF0)
    if kind is None:
        return None
    number, value = data[1] & 0x7F, data[2] & 0x7F
    if kind == "note_on" and value == 0:
        kind = "note_off"
    return ControllerMessage(kind, (data[0] & 0x0F) + 1, number, value)
