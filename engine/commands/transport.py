"""`Stop` and `Panic` (wire `stop`, `panic`): now, the show ends; or queued events are dropped and sounding
notes released while the show goes on."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.control import Command, ShowControl
from encore.engine.latency import Asked


@dataclass(frozen=True)
class Stop(Command, wire="stop"):
    """End the show (sounding notes are released)."""

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.end_show()


@dataclass(frozen=True)
class Panic(Command, wire="panic"):
    """Silence everything now and keep playing what is generated next."""

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.queue.clear()
        show.horizon.drop()  # the notes marked for control latency will not sound: wait for the next ones
        now = max(show.show_time(), 0.0)
        show.router.release(now, show.clock.beat_at(now))
