"""Reading an rtmidi input by polling: each message with its arrival time, and no Python in MIDI's thread.

A Python callback runs in RtMidi's MIDI thread (JACK's process cycle) and holds it until it gets the
GIL; with a busy Python thread beside it a starved cycle loses messages or hands on the bytes of an
earlier one (a knob turned fast reads 63, 63, 63 where it sent 63, 55, 47). So no callback is set:
RtMidi queues each message with its stamp in its own thread, and Python takes them when it polls
(`drain`, every `POLL_S`), placing them in time by those stamps (`ArrivalStamp`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

POLL_S = 0.003
"""How often an input is read: the most a message waits for Python beyond its own arrival stamp."""


class ArrivalStamp:
    """Arrival times from RtMidi's timestamps, on the engine's clock.

    RtMidi stamps each message in its MIDI thread (JACK's process cycle, ALSA's sequencer) as the time
    since the one before; Python reads it later (the next poll, and whenever it gets the GIL). So the
    stamps are summed into the source's own timeline, and put on the engine's clock by the smallest
    `read time - source time` of the last `window` messages: the one read soonest after it arrived.
    A new client starts a new timeline: give it a new `ArrivalStamp`.

    Args:
        window: Messages the offset is taken over.
    """

    def __init__(self, window: int = 64) -> None:
        self._source = 0.0
        self._offsets: deque[float] = deque(maxlen=window)

    def stamp(self, delta_s: float, read_at: float) -> float:
        """The arrival time of a message stamped `delta_s` after the one before, read at `read_at`."""
        self._source += delta_s
        self._offsets.append(read_at - self._source)
        return self._source + min(self._offsets)


def drain(handle: Any, stamp: ArrivalStamp, now: Callable[[], float]) -> list[tuple[list[int], float]]:
    """Every message `handle` (an `rtmidi.MidiIn` with no callback) has queued, oldest first, with its
    arrival time on the `now` clock."""
    messages = []
    while (item := handle.get_message()) is not None:
        message, delta_s = item
        messages.append((message, stamp.stamp(delta_s, now())))
    return messages
