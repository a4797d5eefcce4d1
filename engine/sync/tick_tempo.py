"""Tempo and beat of an incoming MIDI clock, from its ticks' arrival times.

Arrival times jitter (a JACK port delivers once per period, 5 ms at 256 frames), so one interval says
little. The estimate is a least-squares line through the last `window` ticks (tick index against
arrival time): its slope is the tick period, and the line (not the last arrival) says where the
master's beat is. When the master changes tempo, the ticks before the change would drag the line for
a whole window; so when the mean interval of the last `recent` ticks differs from the one before
them (at least `recent / 2` of those) by more than `jump`, the ticks before are forgotten; the check
runs again as ticks arrive, so about `recent` ticks after a change the line is through new ticks only.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from encore.engine.sync.follower import Reading
from encore.engine.sync.midi_clock import TICKS_PER_BEAT


@dataclass(frozen=True)
class TickTempoConfig:
    """How incoming ticks are smoothed.

    Attributes:
        window: Ticks the line is fitted through (24: one beat).
        recent: Ticks compared with the ones before them to notice a tempo change.
        jump: A relative change of the mean interval taken for a new tempo.
        min_ticks: Fewest ticks that make an estimate.
        stale_ticks: No estimate once no tick has come for this many tick periods (the master paused).
    """

    window: int = 24
    recent: int = 12
    jump: float = 0.1
    min_ticks: int = 6
    stale_ticks: float = 6.0

    def __post_init__(self) -> None:
        if not 2 <= self.min_ticks <= self.window or not 2 <= self.recent < self.window or self.jump <= 0:
            raise ValueError(f"bad tick smoothing settings: {self}")


@dataclass(frozen=True)
class TickLine:
    """The fitted line: tick `index` arrives at `intercept + period * index`."""

    intercept: float
    period: float
    last_index: int
    last_at: float

    @property
    def bpm(self) -> float:
        """The tempo the period means."""
        return 60.0 / (self.period * TICKS_PER_BEAT)

    def time_of(self, index: float) -> float:
        """When tick `index` arrives (or arrived), on the line."""
        return self.intercept + self.period * index

    def index_at(self, at: float) -> float:
        """The (fractional) tick index at time `at`, on the line."""
        return (at - self.intercept) / self.period


class TickTempo:
    """Collects tick arrivals (from any thread) and fits the line.

    Args:
        config: Smoothing settings.
    """

    def __init__(self, config: TickTempoConfig | None = None) -> None:
        self.config = config or TickTempoConfig()
        self.count = 0
        self.origin_tick: int | None = None
        self._ticks: deque[tuple[int, float]] = deque(maxlen=self.config.window)
        self._lock = threading.Lock()

    def tick(self, at: float) -> int:
        """Record a tick that arrived at `at`; returns its index (0 for the first ever)."""
        with self._lock:
            index = self.count
            self.count += 1
            self._ticks.append((index, at))
            self._forget_before_jump()
            return index

    def line(self) -> TickLine | None:
        """The fitted line (None with fewer than `min_ticks` ticks since the last tempo change)."""
        with self._lock:
            ticks = list(self._ticks)
        if len(ticks) < self.config.min_ticks:
            return None
        n = len(ticks)
        mean_i = sum(i for i, _ in ticks) / n
        mean_t = sum(t for _, t in ticks) / n
        spread = sum((i - mean_i) ** 2 for i, _ in ticks)
        period = sum((i - mean_i) * (t - mean_t) for i, t in ticks) / spread
        if period <= 0:
            return None
        return TickLine(mean_t - period * mean_i, period, ticks[-1][0], ticks[-1][1])

    def read(self, at: float) -> Reading | None:
        """Tempo and beat at `at`, the beat counted from tick `origin_tick` (None before it is set, or stale)."""
        line = self.line()
        if line is None or self.origin_tick is None or at - line.last_at > self.config.stale_ticks * line.period:
            return None
        return Reading(line.bpm, (line.index_at(at) - self.origin_tick) / TICKS_PER_BEAT, at)

    def _forget_before_jump(self) -> None:
        ticks, recent = self._ticks, self.config.recent
        if len(ticks) < recent + 1 + recent // 2:
            return
        (i0, t0), (i1, t1), (i2, t2) = ticks[0], ticks[-1 - recent], ticks[-1]
        before, lately = (t1 - t0) / (i1 - i0), (t2 - t1) / (i2 - i1)
        if abs(lately - before) > self.config.jump * before:
            for _ in range(len(ticks) - recent - 1):
                ticks.popleft()
