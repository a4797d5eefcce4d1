"""Controller messages read as gestures on the bindings they drive: a knob turned, a button pressed."""

from __future__ import annotations

from encore.stage.controllers.controls import CONTROLS, Gesture, Press, Turn
from encore.stage.controllers.mapping import Binding
from encore.stage.controllers.messages import BUTTON_THRESHOLD, ControllerMessage


class GestureReader:
    """Reads messages as gestures; remembers each CC's last value, so a button fires on its rising edge.

    A range control takes every CC value (and a note-on's velocity); a choice control takes a CC as a
    position and a note-on as a step; a button (toggle, button, local) is pressed by a note-on or by a
    CC rising from below `BUTTON_THRESHOLD` to it or above (a knob turned past the middle presses once).
    """

    def __init__(self) -> None:
        self._last_cc: dict[tuple[int, int], int] = {}

    def read(self, message: ControllerMessage, bindings: list[Binding]) -> list[tuple[Binding, Gesture]]:
        """The gestures `message` makes on `bindings` (those it drives), in their order."""
        rising = False
        if message.kind == "cc":
            previous = self._last_cc.get((message.channel, message.number))
            self._last_cc[(message.channel, message.number)] = message.value
            rising = message.value >= BUTTON_THRESHOLD and (previous is None or previous < BUTTON_THRESHOLD)
        gestures: list[tuple[Binding, Gesture]] = []
        for binding in bindings:
            gesture = _gesture(CONTROLS[binding.control].kind, message, rising)
            if gesture is not None:
                gestures.append((binding, gesture))
        return gestures


def _gesture(kind: str, message: ControllerMessage, rising: bool) -> Gesture | None:
    if message.kind == "note_off":
        return None
    if kind == "range" or (kind == "choice" and message.kind == "cc"):
        return Turn(message.value)
    if message.kind == "note_on" or rising:
        return Press()
    return None
