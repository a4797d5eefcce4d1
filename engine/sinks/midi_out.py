"""Live MIDI out through python-rtmidi (an existing port by name, or a new virtual port).

RtMidi's JACK backend does not send on `send_message`: it writes into a ring buffer that JACK's
process callback empties into the port once per period, and the reading client takes the messages in
that cycle or the next. Closing the port (unregistering it, closing the client) while that period is
in flight races the teardown against it: the last messages sent (the note-offs and CC 64 / CC 123 of
the end of a show) arrived duplicated, as copies of the message before them, or not at all. So a JACK
port is kept open `JACK_DRAIN_S` after the last message before it is closed or reopened.
"""

from __future__ import annotations

import time

from encore.engine.midi import MidiEvent
from encore.engine.midi_ports import open_output
from encore.engine.sinks.base import Sink, SinkStatus

#: Two JACK periods of 1,024 frames at 48 kHz (21 ms each), with margin.
JACK_DRAIN_S = 0.05


class MidiOutSink(Sink):
    """Sends every channel message to a MIDI port as soon as the sender hands it over.

    Args:
        port: Port name (a substring of an existing port), or the name of the virtual port to create.
        api: "alsa" or "jack"; None: whichever API has the port (`encore.engine.midi_ports.open_output`).
        virtual: Create a virtual port instead of connecting to an existing one.
    """

    kind = "midi"

    def __init__(self, port: str, api: str | None = None, virtual: bool = False) -> None:
        opened = open_output(port, api, virtual)
        super().__init__(f"midi:{opened.api}:{port}")
        self.port, self.api, self.virtual = port, opened.api, virtual
        self._out = opened.handle

    def status(self) -> SinkStatus:
        """The port and its API."""
        detail = f"{self.api} {'virtual ' if self.virtual else ''}port {self.port}"
        return SinkStatus(self.name, self.kind, "closed" if self.closed else "open", detail)

    def _send(self, event: MidiEvent) -> None:
        self._out.send_message(event.message)

    def reopen(self) -> bool:
        """Close the port (after draining it) and open it again by name; False if it is gone."""
        self._close()
        self._out = open_output(self.port, self.api, self.virtual).handle
        return True

    def _close(self) -> None:
        if self.api == "jack":
            time.sleep(JACK_DRAIN_S)
        self._out.close_port()
        self._out.delete()
