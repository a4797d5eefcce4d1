"""MIDI clock out: the sinks that turn the engine's clock ticks into a slave's transport.

The engine's queue carries one `0xF8` event per tick (`ClockTicker` puts them there), stamped like
every note, so the sender thread emits each at its time: the clock's jitter is the sender's. The
router gives system messages only to sinks with `wants_system`, so ticks never reach a recording. A
`ClockSink` ignores every other event and adds the transport around the ticks:

- the first tick it sends is tick 0 (the show's first beat): `Start` just before it;
- the first tick is later (the output joined a running show, or was reopened after a failure): it
  waits for a tick on a sixteenth, then sends `Stop`, the Song Position Pointer there, `Continue`
  and the tick (without the pointer past its 14-bit range);
- the show ends (the sink is closed): `Stop`.

A tick it has already sent (a re-queued one after a `Panic`) is skipped, so ticks never double.
"""

from __future__ import annotations

import time

from encore.engine.midi import MidiEvent
from encore.engine.midi_ports import open_output
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.sinks.midi_out import JACK_DRAIN_S
from encore.engine.sync.midi_clock import (
    CLOCK,
    CONTINUE,
    MAX_SONG_POSITION,
    START,
    STOP,
    TICKS_PER_BEAT,
    TICKS_PER_SIXTEENTH,
    song_position,
)


class ClockSink(Sink):
    """Sends the show's MIDI clock and transport; subclasses override `_write` (one message out).

    Args:
        name: How failures and listings name this sink.
    """

    wants_system = True
    kind = "clock"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.last_tick: int | None = None
        self.running = False

    def _send(self, event: MidiEvent) -> None:
        if not event.is_system or event.message[0] != CLOCK:
            return
        tick = round(event.beat * TICKS_PER_BEAT)
        if self.last_tick is not None and tick <= self.last_tick:
            return
        if not self.running:
            if tick == 0:
                self._write((START,))
            elif tick % TICKS_PER_SIXTEENTH == 0:
                self._write((STOP,))
                if tick // TICKS_PER_SIXTEENTH <= MAX_SONG_POSITION:
                    self._write(song_position(tick // TICKS_PER_SIXTEENTH))
                self._write((CONTINUE,))
            else:
                return  # wait for a sixteenth: a Song Position Pointer can only point there
            self.running = True
        self._write((CLOCK,))
        self.last_tick = tick

    def _close(self) -> None:
        if self.running:
            self._write((STOP,))
            self.running = False

    def resync(self) -> None:
        """Send the position again before the next tick on a sixteenth (the output lost the thread)."""
        self.running = False

    def _write(self, message: tuple[int, ...]) -> None:
        raise NotImplementedError


class MemoryClockSink(ClockSink):
    """Keeps every message it writes, with the show time of the tick that caused it: the twin in tests."""

    def __init__(self, name: str = "clock-memory") -> None:
        super().__init__(name)
        self.messages: list[tuple[int, ...]] = []

    def _write(self, message: tuple[int, ...]) -> None:
        self.messages.append(message)


class MidiClockOut(ClockSink):
    """MIDI clock to a port (an existing one by part of its name, or a new virtual one).

    Args:
        port: Part of the port's name, or the virtual port's name.
        api: "alsa" or "jack"; None: whichever API has the port.
        virtual: Create a virtual port instead of connecting to an existing one.

    Raises:
        MidiPortError: if the port cannot be opened (the error lists the ports there are).
    """

    kind = "midi-clock"

    def __init__(self, port: str, api: str | None = None, virtual: bool = False) -> None:
        opened = open_output(port, api, virtual)
        super().__init__(f"clock:{opened.api}:{port}")
        self.port, self.api, self.virtual = port, opened.api, virtual
        self._out = opened.handle

    def status(self) -> SinkStatus:
        """The port, and whether the clock runs."""
        detail = f"{self.api} {'virtual ' if self.virtual else ''}port {self.port}, {'running' if self.running else 'stopped'}"
        return SinkStatus(self.name, self.kind, "closed" if self.closed else "open", detail)

    def reopen(self) -> bool:
        """Open the port again by name; the clock resumes with its position at the next sixteenth."""
        self._release()
        self._out = open_output(self.port, self.api, self.virtual).handle
        self.resync()
        return True

    def _write(self, message: tuple[int, ...]) -> None:
        self._out.send_message(message)

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.api == "jack":  # RtMidi's JACK backend hands messages over in the next period
            time.sleep(JACK_DRAIN_S)
        self._out.close_port()
        self._out.delete()
