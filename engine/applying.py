"""Applying commands to a running show: the engine's write side.

`Applier` is the engine's collaborator for commands. Any thread submits a command (`submit`): it is
checked at once (a rejection resolves its ticket there and then) and queued. At each tick, between two
renders, the engine's thread applies (`apply`) the cues due (commands set for a beat) and the setlist's
song changes, then every command queued since the last tick, checked again against the show as it is
now; each queued command's ticket is resolved, `Applied` or `Rejected` with the one-line reason. Each
command's own `check_values`, `check` and `apply` (`encore.engine.commands`) do the work: the applier
reads and changes the show only through them, with the `ShowControl` it was given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from encore.engine.control import Command, CommandError, ShowControl
from encore.engine.latency import Asked
from encore.engine.results import SHOW_ENDED, Applied, CommandInbox, CommandTicket, Rejected, ResultHub
from encore.models.errors import EncoreError

log = logging.getLogger(__name__)

SongsDue = Callable[[float], list[tuple[float, Command]]]
"""The setlist's song-start and crossfade commands due by a beat, with their beats (marked started)."""


class Applier:
    """Checks, queues and applies commands; resolves their tickets.

    Args:
        show: What commands read and change (the engine).
        songs_due: The setlist's commands due by a beat (none for a show without songs).
        now: The engine's clock: stamps each submission, and each cue when it is applied (control
            latency counts from there).

    Attributes:
        inbox: The commands submitted and not yet applied (thread-safe).
        results: Every result, to its ticket and the subscribers.
        cues: Commands set for a beat, in beat order.
    """

    def __init__(self, show: ShowControl, songs_due: SongsDue, now: Callable[[], float]) -> None:
        self.show = show
        self.songs_due = songs_due
        self.now = now
        self.inbox = CommandInbox(now)
        self.results = ResultHub()
        self.cues: list[tuple[float, Command]] = []

    def check(self, command: Command) -> None:
        """The one validation of a command against the show: what it says on its own, then what depends
        on the show; the same reason at submission and when it is applied (any thread).

        Raises:
            CommandError: why the command cannot be applied, in one line.
        """
        if not isinstance(command, Command):
            raise CommandError(f"not a command: {type(command).__name__}")
        command.check_values()
        command.check(self.show)

    def submit(self, command: Command) -> tuple[CommandTicket, bool]:
        """Check and queue `command` (any thread, never blocking).

        Returns:
            Its ticket, and whether it was queued (else the ticket is rejected already: the check's
            reason, or the show has ended).
        """
        ticket = CommandTicket(command)
        try:
            self.check(command)
        except CommandError as error:
            self.results.publish(ticket, Rejected(command, str(error)))
            return ticket, False
        if not self.inbox.submit(command, ticket):
            self.results.publish(ticket, Rejected(command, SHOW_ENDED))
            return ticket, False
        return ticket, True

    def cue(self, command: Command, at_beat: float) -> None:
        """Apply `command` at `at_beat`, once the rendering comes within `apply`'s horizon of it."""
        self.cues.append((at_beat, command))
        self.cues.sort(key=lambda cue: cue[0])

    def apply(self, horizon: float) -> None:
        """Apply the cues and song changes due by `horizon` (a failing one is logged), then every command
        queued, each checked again, resolving its ticket (the engine's thread)."""
        for at_beat, command in self._due(horizon):
            try:
                command.apply(self.show, at_beat, Asked(type(command).__name__, self.now()))
            except (EncoreError, KeyError, ValueError) as error:
                log.warning("cue %s at beat %g ignored: %s", command, at_beat, error)
        for item in self.inbox.drain():
            try:
                self.check(item.command)
                item.command.apply(self.show, None, Asked(type(item.command).__name__, item.at))
            except (EncoreError, KeyError, ValueError) as error:
                self.results.publish(item.ticket, Rejected(item.command, _one_line(error)))
            else:
                self.results.publish(item.ticket, Applied(item.command))

    def close(self) -> None:
        """The show has ended: refuse further commands, and reject those still queued."""
        for item in self.inbox.close():
            self.results.publish(item.ticket, Rejected(item.command, SHOW_ENDED))

    def _due(self, horizon: float) -> list[tuple[float, Command]]:
        """Cues and songs' commands whose beat is within `horizon`, in beat order."""
        due = []
        while self.cues and self.cues[0][0] <= horizon:
            due.append(self.cues.pop(0))
        due += self.songs_due(horizon)
        return sorted(due, key=lambda cue: cue[0])


def _one_line(error: BaseException) -> str:
    """An exception as a one-line reason (a KeyError's quotes and any line breaks removed)."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__
