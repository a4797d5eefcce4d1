"""Guards that watch one generated stream for long silences and degenerate loops, as it is sampled.

Both work on the notes of the current segment in seconds (a silence is seen when a note starts after
it or at a bar line), and say at the next bar line, where a segment can be cut cleanly, whether to cut. A tripped guard says where to cut (a bar line) so that what is kept
holds no silence over `max_silence_s` and repeats itself back to back for at most `keep_repeat_s`;
the entry generator then re-primes that stream from the seed and starts a new segment.
Repetition is measured as in `encore.training.challenge.report` (pitch, duration and time since
the previous onset, in milliseconds; notes in the order they are sampled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GuardConfig:
    """Limits of the guards.

    Attributes:
        max_silence_s: A gap with no note sounding longer than this trips the silence guard.
        max_repeat_s: Back-to-back exact repetition longer than this trips the loop guard.
        keep_repeat_s: How much of a tripping repetition is kept (the cut is at the last bar line
            before the repetition has run this long).
        max_period: Longest loop looked for, in notes.
    """

    max_silence_s: float = 3.0
    max_repeat_s: float = 16.0
    keep_repeat_s: float = 6.0
    max_period: int = 256

    def __post_init__(self) -> None:
        if self.max_silence_s <= 0 or self.max_repeat_s <= 0 or self.max_period < 1:
            raise ValueError("guard limits must be positive")
        if not 0 <= self.keep_repeat_s <= self.max_repeat_s:
            raise ValueError("keep_repeat_s must lie in [0, max_repeat_s]")


class LoopTracker:
    """Incremental longest back-to-back repetition ending at the latest note, for periods 1..max_period."""

    def __init__(self, max_period: int = 256) -> None:
        self.max_period = max_period
        self._features = np.full(max_period, -1, dtype=np.int64)  # newest first
        self._runs = np.zeros(max_period, dtype=np.int64)
        self._onsets: list[float] = []
        self.span_s = 0.0  # of the repetition ending at the latest note
        self.start_s = 0.0  # onset before its first repeated note

    def add(self, onset_s: float, end_s: float, pitch: int) -> float:
        """Take the next note (onsets non-decreasing); return the repeated span ending at it, in seconds."""
        gap = -1 if not self._onsets else round(1000 * (onset_s - self._onsets[-1]))
        feature = pitch | (min(round(1000 * (end_s - onset_s)), (1 << 24) - 1) << 7) | (min(gap + 1, 1 << 30) << 31)
        equal = self._features == feature
        self._runs = np.where(equal, self._runs + 1, 0)
        self._features = np.roll(self._features, 1)
        self._features[0] = feature
        self._onsets.append(onset_s)
        run = int(self._runs.max())
        if run:
            self.start_s = self._onsets[-1 - run]
            self.span_s = onset_s - self.start_s
        else:
            self.span_s = 0.0
        return self.span_s


class SegmentGuard:
    """Silence and loop watch over one segment of one stream.

    Args:
        config: The limits.
        start_s: Second (on the stream's own clock) at which the segment starts.
    """

    def __init__(self, config: GuardConfig, start_s: float) -> None:
        self.config = config
        self.start_s = start_s
        self.sounding_until = start_s
        self.loops = LoopTracker(config.max_period)
        self.worst_repeat_start_s: float | None = None
        self.silence_from_s: float | None = None  # start of the first too-long silence met
        self.bar_lines_s: list[float] = [start_s]

    def add_note(self, onset_s: float, end_s: float, pitch: int) -> None:
        """Take a note of the segment (in the order sampled)."""
        if onset_s - self.sounding_until > self.config.max_silence_s and self.silence_from_s is None:
            self.silence_from_s = self.sounding_until
        self.sounding_until = max(self.sounding_until, end_s)
        if self.loops.add(onset_s, end_s, pitch) > self.config.max_repeat_s and self.worst_repeat_start_s is None:
            self.worst_repeat_start_s = self.loops.start_s

    def bar_line(self, at_s: float) -> float | None:
        """A bar line at `at_s` (every note before it has been added): None to go on, else the cut.

        The cut is a bar line of this segment, at least its start: the music before it is kept.
        """
        if at_s > self.bar_lines_s[-1]:
            self.bar_lines_s.append(at_s)
        if self.worst_repeat_start_s is not None:
            keep_until = self.worst_repeat_start_s + self.config.keep_repeat_s
            return max([s for s in self.bar_lines_s if s <= keep_until], default=self.start_s)
        if self.silence_from_s is None and at_s - self.sounding_until > self.config.max_silence_s:
            self.silence_from_s = self.sounding_until
        if self.silence_from_s is not None:
            # the first bar line after the release if the silence left before it is short, else the one before
            quiet = self.silence_from_s
            after = [s for s in self.bar_lines_s if quiet <= s <= quiet + self.config.max_silence_s / 2]
            return min(after) if after else max(s for s in self.bar_lines_s if s <= quiet)
        return None
