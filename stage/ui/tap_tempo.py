"""Tap tempo: the tempo of the last few taps of a key, on an injected clock."""

from __future__ import annotations

import statistics
from collections.abc import Callable

MAX_TAPS = 6
"""The tempo is the median interval of at most this many recent taps."""


class TapTempo:
    """Counts taps; from the third tap of a run, each tap gives a tempo.

    Args:
        now: The clock in seconds.
        reset_s: A tap this long after the previous one starts a new run.
    """

    def __init__(self, now: Callable[[], float], reset_s: float = 2.0) -> None:
        self._now = now
        self.reset_s = reset_s
        self._taps: list[float] = []

    def tap(self) -> float | None:
        """Record a tap; returns the tempo in bpm once the run has three taps, else None."""
        at = self._now()
        if self._taps and at - self._taps[-1] > self.reset_s:
            self._taps.clear()
        self._taps = [*self._taps, at][-MAX_TAPS:]
        if len(self._taps) < 3:
            return None
        intervals = [b - a for a, b in zip(self._taps, self._taps[1:], strict=False)]
        interval = statistics.median(intervals)
        return round(60.0 / interval, 1) if interval > 0 else None

    @property
    def count(self) -> int:
        """Taps in the current run."""
        return len(self._taps)
