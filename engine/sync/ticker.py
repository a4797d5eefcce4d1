"""Puts the show's MIDI clock ticks into the engine's queue, a little ahead of the playhead.

Each tick is a `MidiEvent` at its beat (`index / 24`) and that beat's show time, on `CLOCK_TRACK`;
the sender emits it at that time like any note. A tempo change re-times queued events from its beat
on, ticks included, so a tick is never stamped with a stale tempo. A `Panic` empties the queue:
the ticker queues the ticks again from the last one the clock outputs sent (they skip any they
already sent). It runs beside the show as a surface (`encore.engine.surfaces`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from encore.engine.commands.transport import Panic
from encore.engine.midi import MidiEvent
from encore.engine.results import Applied, CommandResult
from encore.engine.sinks.base import SinkStatus
from encore.engine.sync.clock_out import ClockSink
from encore.engine.sync.midi_clock import CLOCK, CLOCK_TRACK, tick_beat

if TYPE_CHECKING:
    from encore.engine.engine import Engine
    from encore.engine.show import Show

AHEAD_S = 0.25
"""Ticks are queued this far ahead of the playhead (the ticker wakes every `POLL_S`)."""
POLL_S = 0.01


class ClockTicker:
    """Keeps the clock outputs' ticks queued.

    Args:
        outputs: The clock sinks the ticks are for (already among the engine's sinks).
        ahead_s: How far ahead of the playhead ticks are queued.
    """

    name = "midi clock"

    def __init__(self, outputs: Sequence[ClockSink], ahead_s: float = AHEAD_S) -> None:
        self.outputs = list(outputs)
        self.ahead_s = ahead_s
        self.next_tick = 0

    def status(self) -> SinkStatus:
        """How many outputs the clock runs to."""
        running = sum(output.running for output in self.outputs)
        return SinkStatus(self.name, "clock", "open", f"{running} of {len(self.outputs)} outputs running")

    def fill(self, engine: Engine) -> None:
        """Queue every tick up to `ahead_s` past the playhead (call from the engine's thread)."""
        horizon = engine.clock.beat_at(engine.show_time() + self.ahead_s)
        while tick_beat(self.next_tick) <= horizon:
            beat = tick_beat(self.next_tick)
            engine.queue.push(MidiEvent(engine.clock.time_at(beat), beat, (CLOCK,), CLOCK_TRACK))
            self.next_tick += 1

    def refill_after(self, result: CommandResult, engine: Engine) -> None:
        """After a `Panic` emptied the queue, queue again from the first tick an output has not sent."""
        if isinstance(result, Applied) and isinstance(result.command, Panic):
            sent = [output.last_tick for output in self.outputs if not output.closed]
            self.next_tick = min((-1 if tick is None else tick for tick in sent), default=-1) + 1
            self.fill(engine)

    async def run(self, show: Show) -> None:
        """Queue ticks while the show plays, from its first beat on (cancelled when it ends)."""
        engine = show.engine
        unsubscribe = engine.subscribe(lambda result: self.refill_after(result, engine))
        try:
            while not engine.ended:
                if engine.playing:
                    self.fill(engine)
                await asyncio.sleep(POLL_S)
        finally:
            unsubscribe()
