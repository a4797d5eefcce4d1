"""The sender: emits each stamped event at its time, from a dedicated thread.

The thread sleeps on the queue's condition until `spin_s` before the earliest deadline (so a new,
earlier event wakes it), then spins on the clock to the deadline and dispatches. Sleeping wakes up to
a millisecond or two late; the spin absorbs that. Each event's lateness (send time minus deadline) is
kept for the jitter statistics (every channel message sent). Offline shows call `pump` instead of starting the thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from encore.engine.event_queue import EventQueue
from encore.engine.midi import MidiEvent

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.05


class Sender:
    """Takes events off `queue` when they are due and hands them to `dispatch`.

    Args:
        queue: The stamped events.
        dispatch: Called with each due event (the router's `dispatch`); returns whether it was sent.
        now: The clock, in seconds; show time is `now() - origin`.
        spin_s: How long before a deadline the thread stops sleeping and starts spinning.
        priority: SCHED_FIFO priority asked for the sending thread (None: leave it); where the OS
            refuses (no privilege), the thread runs at normal priority, `priority_granted` is False and
            one warning says why (docs/busy-machine.md says how to grant it).

    Attributes:
        scheduling: How the sending thread runs, for the summary and the snapshot: `SCHED_FIFO 10`,
            `normal`, or `normal (SCHED_FIFO 10 refused: ...)`; empty until the thread starts.
    """

    def __init__(
        self,
        queue: EventQueue,
        dispatch: Callable[[MidiEvent], bool],
        now: Callable[[], float] = time.perf_counter,
        spin_s: float = 0.002,
        priority: int | None = None,
    ) -> None:
        self.queue = queue
        self.dispatch = dispatch
        self.now = now
        self.spin_s = spin_s
        self.priority = priority
        self.priority_granted = False
        self.scheduling = ""
        self.origin = 0.0
        self.lateness: list[float] = []
        self.notes_sent = 0
        self.first_note_time: float | None = None
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self, origin: float) -> None:
        """Start the sending thread; `origin` is the clock reading of show time 0."""
        self.origin = origin
        self._running = True
        self._thread = threading.Thread(target=self._run, name="encore-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (events still queued stay queued) and wait for it."""
        with self.queue.changed:
            self._running = False
            self.queue.changed.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def pump(self, show_time: float) -> None:
        """Offline: dispatch every event due at `show_time`, as if each were sent exactly on time."""
        while True:
            with self.queue.changed:
                event = self.queue.pop_due(show_time)
            if event is None:
                return
            self._emit(event, event.time)

    def _run(self) -> None:
        self.scheduling = "normal"
        if self.priority is not None:
            refused = raise_priority(self.priority)
            self.priority_granted = refused is None
            self.scheduling = f"SCHED_FIFO {self.priority}" if refused is None else \
                f"normal (SCHED_FIFO {self.priority} refused: {refused})"
            if refused is not None:
                log.warning("sender thread: SCHED_FIFO %d refused (%s); it runs at normal priority: grant an rtprio "
                            "limit to play on a busy machine (docs/busy-machine.md)", self.priority, refused)
        queue = self.queue
        while True:
            with queue.changed:
                if not self._running:
                    return
                deadline = queue.peek_time()
                if deadline is None:
                    queue.changed.wait(IDLE_WAIT_S)
                    continue
                wait = deadline + self.origin - self.now() - self.spin_s
                if wait > 0:
                    queue.changed.wait(min(wait, IDLE_WAIT_S))
                    continue
            target = deadline + self.origin
            while self.now() < target:
                pass
            with queue.changed:
                event = queue.pop_due(self.now() - self.origin)
            if event is not None:
                self._emit(event, self.now() - self.origin)

    def _emit(self, event: MidiEvent, sent_at: float) -> None:
        if not self.dispatch(event) or event.is_meta:
            return
        self.lateness.append(sent_at - event.time)
        if event.is_note_on:
            self.notes_sent += 1
            if self.first_note_time is None:
                self.first_note_time = sent_at


def raise_priority(priority: int, policy: str = "SCHED_FIFO") -> str | None:
    """Make the calling thread `policy` (SCHED_FIFO or SCHED_RR) at `priority` (Linux applies it to the
    thread alone); None when granted, else why it was refused."""
    try:
        os.sched_setscheduler(0, getattr(os, policy), os.sched_param(priority))
    except AttributeError:
        return "not supported on this system"
    except OSError as error:
        return error.strerror or str(error)
    return None
