"""What becomes of a submitted command: a ticket that resolves to `Applied` or `Rejected(reason)`.

`Engine.submit` returns a `CommandTicket` at once. It resolves when the engine applies the command
(or at submission, when a check up front already rejects it), from whichever thread did that. A surface
can wait on the ticket (`result(timeout)` from a thread, `await ticket.wait()` in asyncio), attach a
callback to it, or subscribe to every result (`Engine.subscribe`; `queue.SimpleQueue().put` makes a
thread-safe queue of them). Commands still queued when the show ends are rejected ("the show has
ended"), so every ticket resolves.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from encore.engine.control import Command

log = logging.getLogger(__name__)

SHOW_ENDED = "the show has ended"


@dataclass(frozen=True)
class Applied:
    """The engine applied `command` (when it sounds: its module in `encore.engine.commands` says)."""

    command: Command

    @property
    def ok(self) -> bool:
        """True: the command was applied."""
        return True


@dataclass(frozen=True)
class Rejected:
    """The engine did not apply `command`; `reason` says why in one line."""

    command: Command
    reason: str

    @property
    def ok(self) -> bool:
        """False: nothing changed."""
        return False


CommandResult = Applied | Rejected


class CommandTicket:
    """A submitted command's future result. Thread-safe.

    Args:
        command: The command submitted.
    """

    def __init__(self, command: Command) -> None:
        self.command = command
        self._future: Future[CommandResult] = Future()

    def done(self) -> bool:
        """Whether the result is known."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> CommandResult:
        """The result, waiting up to `timeout` seconds (None: until it is known).

        Raises:
            TimeoutError: if it is not known in time.
        """
        return self._future.result(timeout)

    async def wait(self) -> CommandResult:
        """The result, awaited in an event loop (the engine's own loop or another)."""
        return await asyncio.wrap_future(self._future)

    def add_done_callback(self, callback: Callable[[CommandResult], None]) -> None:
        """Call `callback(result)` once known (at once if it is), in the thread that resolved it."""
        self._future.add_done_callback(lambda future: callback(future.result()))

    def resolve(self, result: CommandResult) -> None:
        """Set the result (the engine calls this once)."""
        self._future.set_result(result)

    def __repr__(self) -> str:
        state = self._future.result() if self._future.done() else "pending"
        return f"CommandTicket({self.command!r}: {state})"


@dataclass(frozen=True)
class Submitted:
    """A command, its ticket, and the clock reading when it was submitted (for control latency)."""

    command: Command
    at: float
    ticket: CommandTicket


class CommandInbox:
    """Thread-safe inbox: any thread submits, the engine drains; closed when the show ends.

    Args:
        now: The clock stamped on each submission.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._queue: queue.SimpleQueue[Submitted] = queue.SimpleQueue()
        self._lock = threading.RLock()  # re-entrant: a signal handler may submit
        self._closed = False

    def submit(self, command: Command, ticket: CommandTicket) -> bool:
        """Queue a command; never blocks. False (nothing queued) once the inbox is closed."""
        with self._lock:
            if self._closed:
                return False
            self._queue.put(Submitted(command, self._now(), ticket))
            return True

    def drain(self) -> list[Submitted]:
        """Every command submitted so far, oldest first."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> list[Submitted]:
        """Refuse further submissions; returns what was still queued."""
        with self._lock:
            self._closed = True
        return self.drain()


class ResultHub:
    """Fans every command result out to its ticket and to subscribers."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[CommandResult], None]] = []
        self._lock = threading.RLock()  # re-entrant: a signal handler may submit

    def subscribe(self, callback: Callable[[CommandResult], None]) -> Callable[[], None]:
        """Call `callback(result)` for every result from now on; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, ticket: CommandTicket, result: CommandResult) -> None:
        """Resolve `ticket` with `result` and tell every subscriber (a failing one is logged, skipped)."""
        if isinstance(result, Rejected):
            log.warning("command %s rejected: %s", result.command, result.reason)
        ticket.resolve(result)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(result)
            except Exception as error:  # a surface's bug must not reach the engine
                log.warning("result subscriber %r failed: %s", callback, error)
