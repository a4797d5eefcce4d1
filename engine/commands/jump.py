"""`Next` and `Previous` (wire `next`, `previous`): the setlist's next song, or the one before the song
sounding, from the first bar line after what every voice has rendered; later songs move up."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from encore.engine.control import Command, ShowControl
from encore.engine.latency import Asked
from encore.models.errors import EncoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Next(Command, wire="next"):
    """Jump to the setlist's next song at the next bar line not yet rendered."""

    def check(self, show: ShowControl) -> None:
        show.next_target(1)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        jump(show, 1, asked)


@dataclass(frozen=True)
class Previous(Command, wire="previous"):
    """Go back to the song before the one sounding, at the next bar line not yet rendered (its commands
    applied again)."""

    def check(self, show: ShowControl) -> None:
        show.next_target(-1)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        jump(show, -1, asked)


def jump(show: ShowControl, step: int, asked: Asked) -> None:
    """Start the song `step` away at its bar line and apply its commands there (a failing one is logged)."""
    target, bar_line = show.next_target(step)
    for start, cue in show.jump(target, bar_line):
        try:
            cue.apply(show, start, Asked(type(cue).__name__, asked.at))  # each counted from the jump's submission
        except (EncoreError, KeyError, ValueError) as error:
            log.warning("song cue %s at beat %g ignored: %s", cue, start, error)
