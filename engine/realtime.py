"""The process around a real-time show (`Engine.run`): a worker thread per voice (at a real-time priority
where asked and granted), the interpreter's switch interval, and the collector's frozen objects let back
at the end.

Why a render thread may want a real-time priority: the sender needs the GIL for every event, and a thread
that holds the GIL while the OS has preempted it (another program took its core) keeps it until it runs
again, a scheduler slice later (3-6 ms). A render thread at SCHED_RR is not preempted by ordinary
programs, so it gives the GIL back at the switch interval; the sender, at a higher SCHED_FIFO priority,
preempts it (docs/busy-machine.md)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from encore.engine.sender import raise_priority


@contextlib.contextmanager
def voice_threads(names: Iterable[str], switch_interval_s: float | None, priority: int | None = None,
                  loop_priority: int | None = None) -> Iterator[dict[str, ThreadPoolExecutor]]:
    """One worker thread per voice name while the block runs, with `sys.setswitchinterval(switch_interval_s)`
    (None leaves it), so the sender gets the GIL back from a decoding thread within that time; each thread
    asks SCHED_RR at `priority` (None: normal priority; refused quietly: the sender's line says how to
    grant it), and the calling thread (the event loop's: the engine's ticks, the terminal UI) SCHED_RR at
    `loop_priority` until the block ends (None: left as it is). On leaving: the threads are let go without waiting, the interval restored, and what
    `gc.freeze` moved out of the collector's reach during the show let back."""
    initializer = None if priority is None else (lambda: raise_priority(priority, "SCHED_RR"))
    executors = {name: ThreadPoolExecutor(1, thread_name_prefix=f"voice-{name}", initializer=initializer)
                 for name in names}
    previous = sys.getswitchinterval()
    if switch_interval_s is not None:
        sys.setswitchinterval(switch_interval_s)
    before = (os.sched_getscheduler(0), os.sched_getparam(0))
    if loop_priority is not None:
        raise_priority(loop_priority, "SCHED_RR")
    try:
        yield executors
    finally:
        if loop_priority is not None:
            os.sched_setscheduler(0, *before)
        for executor in executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        sys.setswitchinterval(previous)
        gc.unfreeze()
