"""Timing helpers shared by the benchmark modules: repeated wall-clock samples and their spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Below this many samples a spread is given as min-max; from it on as the interquartile range.
IQR_FROM = 8


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one quantity: their median and spread.

    Attributes:
        samples: Every measurement, in the order taken.
    """

    samples: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """A spread of `values` (at least one)."""
        if not values:
            raise ValueError("a spread needs at least one sample")
        return cls(tuple(float(v) for v in values))

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(self.samples)

    @property
    def median(self) -> float:
        """Median of the samples."""
        return statistics.median(self.samples)

    def scaled(self, factor: float) -> Spread:
        """Every sample times `factor` (seconds to ms: 1e3)."""
        return Spread(tuple(v * factor for v in self.samples))

    def inverted(self, numerator: float) -> Spread:
        """`numerator / sample` for every sample (seconds per call to tokens/s)."""
        return Spread(tuple(numerator / v for v in self.samples))

    def describe(self, unit: str = "", digits: int = 3) -> str:
        """`n=40, IQR 4.61 to 4.72 ms`, or `n=5, min-max 95.1 to 97 ms` below `IQR_FROM` samples."""
        unit = f" {unit}" if unit else ""
        if self.n >= IQR_FROM:
            low, _, high = statistics.quantiles(self.samples, n=4, method="inclusive")
            return f"n={self.n}, IQR {low:.{digits}g} to {high:.{digits}g}{unit}"
        return f"n={self.n}, min-max {min(self.samples):.{digits}g} to {max(self.samples):.{digits}g}{unit}"


def sample_seconds(call: Callable[[], object], warmup: int, repeats: int,
                   setup: Callable[[], object] | None = None) -> Spread:
    """Wall time of `call()` over `repeats` runs after `warmup` untimed runs; `setup()` runs untimed
    before every call (warm-up ones included)."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        call()
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return Spread.of(times)


def median_seconds(call: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median wall time of `call()` over `repeats` runs after `warmup` untimed runs."""
    return sample_seconds(call, warmup, repeats).median
