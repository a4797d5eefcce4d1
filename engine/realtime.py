"""The process around a real-time show (`Engine.run`): a worker thread per voice, the interpreter's switch
interval, and the collector's frozen objects let back at the end."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor


@contextlib.contextmanager
def voice_threads(names: Iterable[str], switch_interval_s: float | None) -> Iterator[dict[str, ThreadPoolExecutor]]:
    """One worker thread per voice name while the block runs, with `sys.setswitchinterval(switch_interval_s)`
    (None leaves it), so the sender gets the GIL back from a decoding thread within that time. On leaving:
    the threads are let go without waiting, the interval restored, and what `gc.freeze` moved out of the
    collector's reach during the show let back."""
    executors = {name: ThreadPoolExecutor(1, thread_name_prefix=f"voice-{name}") for name in names}
    previous = sys.getswitchinterval()
    if switch_interval_s is not None:
        sys.setswitchinterval(switch_interval_s)
    try:
        yield executors
    finally:
        for executor in executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        sys.setswitchinterval(previous)
        gc.unfreeze()
