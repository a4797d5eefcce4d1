"""MIDI clock in: a show that waits for a master's Start, follows its tempo, and stops with it.

What the master's messages mean for a show that is already built:

- **Start** (or **Continue**) starts it: the engine has rendered its preroll and waits at its start
  gate; the show's first beat sounds at the master's first tick after Start (predicted from the
  ticks before it when the master sends clock while stopped; else at the first tick's arrival). The
  show always starts from its own first beat: a Continue's song position is not a place it can jump to.
- **clock ticks** (24 a beat) steer the tempo (`TickTempo` smooths them; `TempoFollower` keeps the
  show's beats on the master's, counted from that first tick).
- **Stop** stops the show as `Stop` does (notes released, the recording written). It has ended: a
  later Start does not play it again. A Start or Continue while it plays is ignored (logged).

Song Position Pointers are ignored. Nothing the master sends can fail the show: with no ticks
arriving the tempo simply stays where it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from encore.engine.midi_ports import API_ORDER, MidiPortError, new_client, open_input
from encore.engine.midi_reading import POLL_S, ArrivalStamp, drain
from encore.engine.sinks.base import SinkStatus
from encore.engine.sync.follower import FollowerConfig, Reading, TempoFollower
from encore.engine.sync.midi_clock import CLOCK, CONTINUE, START, STOP
from encore.engine.sync.tick_tempo import TickTempo, TickTempoConfig

if TYPE_CHECKING:
    from encore.engine.engine import Engine
    from encore.engine.show import Show

log = logging.getLogger(__name__)

GATE_POLL_S = 0.002
"""How often the start gate looks for the master's Start."""
START_MARGIN_S = 0.005
"""The first beat is never placed less than this far in the future (the follower closes the gap)."""
STOPPED_LEAD_S = 1.0
"""A show stopped while it waited opens this far ahead, so nothing sounds before the engine applies the Stop."""
FIRST_TICK_WAIT_S = 1.0
"""After a Start with no clock before it, how long the gate waits for the first tick before starting anyway."""


class ClockFollowing:
    """The master's transport and tempo as one show sees them (no port: `on_message` is fed).

    Args:
        engine: The engine it starts, steers and stops.
        smoothing: How incoming ticks are smoothed.
        follow: How the show follows.
        now: The clock arrivals are stamped with (the engine's).
    """

    wrap_beats = None
    name = "midi clock in"

    def __init__(self, engine: Engine, smoothing: TickTempoConfig | None = None, follow: FollowerConfig | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.engine = engine
        self.ticks = TickTempo(smoothing)
        self.follower = TempoFollower(engine, self, follow, now)
        self.now = now
        self.started_at: float | None = None
        self.first_tick_at: float | None = None
        self.stopped = False
        self._armed = False

    # The reference the follower reads ---------------------------------------------------------

    def read(self) -> Reading | None:
        """The master's tempo and beat now (beat 0: its first tick after Start)."""
        return self.ticks.read(self.now())

    def propose(self, bpm: float, at: float) -> bool:
        """A MIDI master takes no tempo from its slaves: False."""
        return False

    # Messages, from the MIDI input's thread ----------------------------------------------------

    def on_message(self, message: list[int], at: float) -> None:
        """Take one message from the master that arrived at `at`."""
        if not message:
            return
        status = message[0]
        if status == CLOCK:
            index = self.ticks.tick(at)
            if self._armed:
                self.ticks.origin_tick, self.first_tick_at, self._armed = index, at, False
        elif status in (START, CONTINUE):
            if self.started_at is None:
                self._armed, self.started_at = True, at
            else:
                log.info("MIDI %s ignored: the show is already playing", "start" if status == START else "continue")
        elif status == STOP and self.started_at is not None and not self.stopped:
            self.stopped = True
            self.engine.stop()

    # The start gate ------------------------------------------------------------------------------

    async def wait_for_start(self, earliest: float) -> float:
        """Wait for the master's Start; returns the engine-clock time of the show's first beat.

        A `Stop` submitted meanwhile (Ctrl-C) ends the wait: the show starts and stops at once.
        """
        log.warning("waiting for MIDI clock Start")
        while self.started_at is None and not self.engine.stop_requested.is_set():
            await asyncio.sleep(GATE_POLL_S)
        if self.started_at is None:  # stopped: nothing may sound before the Stop is applied
            return self.now() + STOPPED_LEAD_S
        first = self._first_tick_time(self.started_at)
        deadline = self.now() + FIRST_TICK_WAIT_S
        while first is None and self.now() < deadline and not self.engine.stop_requested.is_set():
            await asyncio.sleep(GATE_POLL_S)
            first = self._first_tick_time(self.started_at)
        line = self.ticks.line()
        if line is not None:
            self.follower.start_tempo(line.bpm)
        return max(first if first is not None else self.now(), self.now() + START_MARGIN_S, earliest)

    def _first_tick_time(self, start: float) -> float | None:
        """When the first tick after Start came, or (the master ticking while stopped) will come; None: unknown."""
        if self.first_tick_at is not None:
            return self.first_tick_at
        line = self.ticks.line()
        if line is None or start - line.last_at > 3 * line.period:
            return None
        index = line.last_index + 1
        while line.time_of(index) < start:
            index += 1
        return line.time_of(index)


class MidiClockIn:
    """MIDI clock in from a port: a surface that follows the master while the show plays.

    Args:
        show: The show (real time) to start, steer and stop.
        port: Part of the master's port name (or the name of a new virtual input port).
        api: "alsa" or "jack"; None: whichever API has the port.
        virtual: Create a virtual input port for the master to connect to.
        smoothing: How incoming ticks are smoothed.
        follow: How the show follows.

    Raises:
        MidiPortError: if the port cannot be opened (the error lists the ports there are).
    """

    def __init__(self, show: Show, port: str, api: str | None = None, virtual: bool = False,
                 smoothing: TickTempoConfig | None = None, follow: FollowerConfig | None = None) -> None:
        self.following = ClockFollowing(show.engine, smoothing, follow)
        self.name = f"clock in:{port}"
        self.port = port
        self._handle, self.api = _open_input(port, api, virtual)
        self._handle.ignore_types(sysex=True, timing=False, active_sense=True)
        self._stamp = ArrivalStamp()
        show.engine.start_gate = self.following.wait_for_start

    def status(self) -> SinkStatus:
        """The port, and the master's transport and tempo as last seen."""
        following = self.following
        line = following.ticks.line()
        state = "stopped" if following.stopped else "playing" if following.started_at is not None else "waiting for Start"
        tempo = f", {line.bpm:.1f} bpm" if line is not None else ""
        return SinkStatus(self.name, "clock-in", "closed" if self._handle is None else "open",
                          f"{self.api} port {self.port}: {state}{tempo}")

    async def run(self, show: Show) -> None:
        """Read the master and follow it until the show ends (cancelled then); the port is closed after."""
        try:
            await asyncio.gather(self._read(), self.following.follower.run())
        finally:
            self.close()

    def poll(self) -> None:
        """Take every message RtMidi has queued (with its own arrival stamps) to the master's state."""
        if self._handle is None:
            return
        for message, at in drain(self._handle, self._stamp, time.perf_counter):
            self.following.on_message(message, at)

    async def _read(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(POLL_S)

    def close(self) -> None:
        """Close the port (idempotent)."""
        if self._handle is not None:
            self._handle.close_port()
            self._handle.delete()
            self._handle = None



def _open_input(port: str, api: str | None, virtual: bool) -> tuple[Any, str]:
    """An open rtmidi input and its API: connected to a port by part of its name, or a new virtual one."""
    if not virtual:
        opened = open_input(port, api)
        return opened.handle, opened.api
    errors = []
    for candidate in [api] if api is not None else list(API_ORDER):
        try:
            handle = new_client("input", candidate)
        except MidiPortError as error:
            errors.append(str(error))
            continue
        handle.open_virtual_port(port)
        return handle, candidate
    raise MidiPortError(f"cannot create the virtual MIDI input {port!r} ({'; '.join(errors)})")
