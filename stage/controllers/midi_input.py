"""A MIDI input port (`--midi-in`) on whichever API has it; messages reach a callback from rtmidi's thread.

The port is looked up when the input is made, so a name that matches nothing fails at once with the
ports that exist (`encore.engine.midi_ports.open_input`). During a show `check()` (called by the
surface about twice a second) watches the source port through a second, port-less client: when it
disappears the input says `vanished` and waits; when a port matching the name comes back it is opened
again with a new client (RtMidi's JACK input does not deliver again after a close and re-open on the
same client). Nothing here can stop the show.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from encore.engine.midi_ports import MidiPortError, load_rtmidi, matching, new_client, open_input

log = logging.getLogger(__name__)

InputState = Literal["open", "vanished", "closed"]
MessageCallback = Callable[[list[int], float], None]
"""Called from rtmidi's thread with a message's bytes and its arrival time (`perf_counter`)."""


class MidiInput:
    """A MIDI input port by (part of its) name.

    Args:
        name: Part of the source port's name.
        api: "alsa" or "jack"; None: whichever API has the port.
        now: The clock stamped on each message as it arrives.

    Raises:
        MidiPortError: if no API is available or no port matches (listing the ports there are).
    """

    def __init__(self, name: str, api: str | None = None, now: Callable[[], float] = time.perf_counter) -> None:
        opened = open_input(name, api)
        self.name, self.api, self.port = name, opened.api, opened.port
        self.state: InputState = "open"
        self._now = now
        self._handle: Any = opened.handle
        self._probe: Any = None
        self._on_message: MessageCallback | None = None
        self._lock = threading.Lock()  # `check` may run in a worker thread while `close` is called
        self._listen(self._handle)

    def listen(self, on_message: MessageCallback | None) -> None:
        """Deliver every message to `on_message` from now on (None: drop them)."""
        self._on_message = on_message

    def check(self) -> bool:
        """Look for the source port: mark it vanished, or reopen it when it is back. True if the state changed."""
        with self._lock:
            return False if self.state == "closed" else self._check()

    def _check(self) -> bool:
        try:
            if self._probe is None:
                self._probe = new_client("input", self.api)
            ports = self._probe.get_ports()
        except (MidiPortError, OSError) as error:
            ports = []
            log.debug("listing %s inputs failed: %s", self.api, error)
        found = matching(ports, self.name)
        if self.state == "open" and found is None:
            self.state = "vanished"
            log.warning("MIDI input %s vanished; waiting for it to come back (the show plays on)", self.port)
            return True
        if self.state == "vanished" and found is not None:
            return self._reopen()
        return False

    def close(self) -> None:
        """Stop delivering and release the port and the probe."""
        self._on_message = None
        with self._lock:
            self.state = "closed"
            for handle in (self._handle, self._probe):
                if handle is not None:
                    _release(handle)
            self._handle = self._probe = None

    def detail(self) -> str:
        """One line for a status display."""
        waiting = "; waiting for it to come back" if self.state == "vanished" else ""
        return f"{self.api} input {self.port}{waiting}"

    def _reopen(self) -> bool:
        try:
            opened = open_input(self.name, self.api)
        except MidiPortError as error:
            log.debug("reopening %s failed: %s", self.name, error)
            return False
        _release(self._handle)
        self._handle, self.port, self.state = opened.handle, opened.port, "open"
        self._listen(self._handle)
        log.warning("MIDI input %s is back", self.port)
        return True

    def _listen(self, handle: Any) -> None:
        handle.ignore_types(sysex=True, timing=True, active_sense=True)
        handle.set_callback(self._arrived)

    def _arrived(self, event: tuple[list[int], float], _data: object = None) -> None:
        """rtmidi's callback (its own thread): stamp and pass on."""
        callback = self._on_message
        if callback is not None:
            callback(event[0], self._now())


def _release(handle: Any) -> None:
    """Close and delete an rtmidi client, whatever state it is in."""
    rtmidi = load_rtmidi()
    try:
        if hasattr(handle, "cancel_callback"):
            handle.cancel_callback()
        handle.close_port()
        handle.delete()
    except (rtmidi.RtMidiError, rtmidi.SystemError, OSError) as error:
        log.debug("closing a MIDI input: %s", error)
