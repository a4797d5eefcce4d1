"""A MIDI input port (`--midi-in`) on whichever API has it, read by polling (`read`) with arrival times.

The port is looked up when the input is made, so a name that matches nothing fails at once with the
ports that exist (`encore.engine.midi_ports.open_input`). During a show `check()` (called by the
surface about twice a second) watches the source port through a second, port-less client: when it
disappears the input says `vanished` and waits; when a port matching the name comes back it is opened
again with a new client (RtMidi's JACK input does not deliver again after a close and re-open on the
same client). Nothing here can stop the show.

No Python runs in RtMidi's thread (`encore.engine.midi_reading`): the surface polls `read` for what
RtMidi queued, each message placed in time by its own stamp.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from encore.engine.midi_ports import MidiPortError, load_rtmidi, matching, new_client, open_input
from encore.engine.midi_reading import ArrivalStamp, drain

log = logging.getLogger(__name__)

InputState = Literal["open", "vanished", "closed"]


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
        self._stamp = ArrivalStamp()
        self._lock = threading.Lock()  # `check` may run in a worker thread while `read` or `close` is called
        _ignore_system_messages(self._handle)

    def read(self) -> list[tuple[list[int], float]]:
        """Every message received since the last read, oldest first, with its arrival time (on `now`).

        Never waits: while `check` is reopening the port it returns nothing (the next read has it all).
        """
        if not self._lock.acquire(blocking=False):
            return []
        try:
            return [] if self._handle is None else drain(self._handle, self._stamp, self._now)
        finally:
            self._lock.release()

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
        """Release the port and the probe (what was not read is dropped)."""
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
        self._stamp = ArrivalStamp()  # a new client, a new timeline
        _ignore_system_messages(self._handle)
        log.warning("MIDI input %s is back", self.port)
        return True


def _ignore_system_messages(handle: Any) -> None:
    """SysEx, clock and active sensing are not a controller's (MIDI clock in reads clock on a port of its own)."""
    handle.ignore_types(sysex=True, timing=True, active_sense=True)


def _release(handle: Any) -> None:
    """Close and delete an rtmidi client, whatever state it is in."""
    rtmidi = load_rtmidi()
    try:
        handle.close_port()
        handle.delete()
    except (rtmidi.RtMidiError, rtmidi.SystemError, OSError) as error:
        log.debug("closing a MIDI input: %s", error)
