"""Live MIDI out through python-rtmidi (an existing port by name, or a new virtual port)."""

from __future__ import annotations

from ..midi import MidiEvent
from ..midi_ports import open_output
from .base import Sink


class MidiOutSink(Sink):
    """Sends every channel message to a MIDI port as soon as the sender hands it over.

    Args:
        port: Port name (a substring of an existing port), or the name of the virtual port to create.
        api: "alsa" or "jack".
        virtual: Create a virtual port instead of connecting to an existing one.
    """

    def __init__(self, port: str, api: str = "alsa", virtual: bool = False) -> None:
        super().__init__(f"midi:{api}:{port}")
        self.port, self.api, self.virtual = port, api, virtual
        self._out = open_output(port, api, virtual)

    def _send(self, event: MidiEvent) -> None:
        self._out.send_message(event.message)

    def reopen(self) -> bool:
        """Close the port and open it again by name; False if it is gone."""
        self._out.delete()
        self._out = open_output(self.port, self.api, self.virtual)
        return True

    def _close(self) -> None:
        self._out.close_port()
        self._out.delete()
