"""A performer's keys and pedal to the show: every unbound note as a `note` command, CC 67 as `respond`.

The engine records the notes on the `performer` track and, per its performer mode, hears them
(`encore.engine.performer`). Each key is sent when it arrives, at its show beat (`ShowClock`, from
rtmidi's own arrival stamp), so a busy event loop delays the command, never where the note lands.
The pedal (`RESPOND_CC`, as Aria uses it; any CC or note can also be mapped to the `respond`
control) sends `respond` when pressed (rising through 64). A rejected command is reported once per
reason, so a show in the wrong mode does not flood the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from encore.engine.commands.performing import PerformerNote, Respond
from encore.engine.results import CommandResult, Rejected
from encore.stage.controllers.messages import BUTTON_THRESHOLD, ControllerMessage
from encore.stage.controllers.performer import ShowPosition

if TYPE_CHECKING:
    from encore.engine.show import Show

RESPOND_CC = 67
"""The pedal that ends a call: the piano answers (call and response)."""


class PerformerRelay:
    """Sends a performer's notes and pedal to a show.

    Args:
        rejected: Called with the reason of each new kind of rejection (from the thread resolving it).
    """

    def __init__(self, rejected: Callable[[str], None]) -> None:
        self._rejected = rejected
        self._reasons: set[str] = set()
        self._pedal_down = False

    def offer(self, show: Show, message: ControllerMessage, at: ShowPosition) -> bool:
        """Send `message` if it is a performer's note or the pedal; returns whether it was taken."""
        if message.kind in ("note_on", "note_off"):
            velocity = message.value if message.kind == "note_on" else 0
            self._send(show, PerformerNote(message.number, velocity, at.beats))
            return True
        if message.kind == "cc" and message.number == RESPOND_CC:
            down = message.value >= BUTTON_THRESHOLD
            if down and not self._pedal_down:
                self._send(show, Respond())
            self._pedal_down = down
            return True
        return False

    def _send(self, show: Show, command: PerformerNote | Respond) -> None:
        show.submit(command).add_done_callback(self._resolved)

    def _resolved(self, result: CommandResult) -> None:
        if isinstance(result, Rejected) and result.reason not in self._reasons:
            self._reasons.add(result.reason)
            self._rejected(result.reason)
