"""Following an external clock: the show's tempo steered so its beats land on the reference's.

A reference (a MIDI clock master, a Link session) says, at a moment, its tempo and where its beat
is. Once per beat, half way through it, the follower predicts how far the reference will be from the
show at the next whole beat (where a `SetTempo` takes effect) and sets the tempo for the beats from
there so that the gap closes over `correction_beats`: the reference's tempo `r` becomes
`r * n / (n - e)` for a gap of `e` beats over `n`, never more than `max_correction` off `r`. When the
reference keeps its tempo, the gap then shrinks by `1 / n` of itself a beat, and corrections stop
once the tempo is within `tolerance` of what is needed (so a steady reference costs no commands).

Tempo changes the show makes itself (a performer's `SetTempo`, a song's tempo) are offered to the
reference (`Reference.propose`): a Link session takes them, at the beat they start; a MIDI master
cannot, so the follower steers back to the master's tempo from the next beat.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from encore.engine.clock import MAX_BPM, MIN_BPM, TempoSegment
from encore.engine.commands.tempo import SetTempo

if TYPE_CHECKING:
    from encore.engine.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """Where an external clock is at one moment.

    Attributes:
        bpm: Its tempo.
        beat: Its beat at `at`, counted so that the show's beat `b` belongs with its beat `b` (modulo
            the reference's `wrap_beats`).
        at: The moment, on the engine's clock (`time.perf_counter` in a live show).
    """

    bpm: float
    beat: float
    at: float


class Reference(Protocol):
    """An external clock the show follows."""

    wrap_beats: float | None
    """Beats compared modulo this (a Link quantum); None: compared as they are (a MIDI clock counts from Start)."""

    def read(self) -> Reading | None:
        """Where it is now; None while it cannot say (not started, no clock arriving)."""
        ...

    def propose(self, bpm: float, at: float) -> bool:
        """Offer a tempo the show starts at `at` (engine clock); whether the reference takes it."""
        ...


@dataclass(frozen=True)
class FollowerConfig:
    """How the show follows.

    Attributes:
        correction_beats: A phase gap is closed over this many beats.
        max_correction: The tempo is never set more than this fraction off the reference's.
        tolerance: No `SetTempo` while the tempo needed is within this fraction of the one set.
        poll_s: How often the follower looks (it acts once per beat).
    """

    correction_beats: float = 2.0
    max_correction: float = 0.1
    tolerance: float = 0.001
    poll_s: float = 0.005

    def __post_init__(self) -> None:
        if self.correction_beats < 1 or not 0 < self.max_correction < 1 or self.tolerance < 0 or self.poll_s <= 0:
            raise ValueError(f"bad follower settings: {self}")


def gap_beats(reference_beat: float, show_beat: float, wrap_beats: float | None) -> float:
    """How far the reference is ahead of the show (negative: behind), modulo `wrap_beats` if given."""
    gap = reference_beat - show_beat
    return gap if wrap_beats is None else gap - wrap_beats * round(gap / wrap_beats)


def corrected_bpm(reference_bpm: float, gap: float, config: FollowerConfig) -> float:
    """The tempo that closes a gap of `gap` beats over `config.correction_beats` at `reference_bpm`."""
    n, limit = config.correction_beats, config.max_correction
    bpm = reference_bpm * n / (n - max(-n / 2, min(n / 2, gap)))
    bpm = min(max(bpm, reference_bpm * (1 - limit)), reference_bpm * (1 + limit))
    return min(max(bpm, MIN_BPM), MAX_BPM)


class TempoFollower:
    """Steers an engine's tempo to a reference (call `step` often, or `await run()`).

    Args:
        engine: The engine; the follower uses its clock, playhead and `submit`.
        reference: The external clock.
        config: How it follows.
        now: The engine's clock (the same function the engine was built with).
    """

    def __init__(self, engine: Engine, reference: Reference, config: FollowerConfig | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.engine = engine
        self.reference = reference
        self.config = config or FollowerConfig()
        self.now = now
        self.corrections = 0
        self.last_gap_beats: float | None = None
        self._last_beat = -1
        self._hold_until_beat = -math.inf
        self._own: list[float] = []
        self._known: list[TempoSegment] = []

    def start_tempo(self, bpm: float) -> None:
        """Play the show from its first beat at `bpm` (the reference's tempo); call before the show starts."""
        bpm = min(max(bpm, MIN_BPM), MAX_BPM)
        self._own.append(bpm)
        self.engine.cue(SetTempo(bpm), 0.0)

    def step(self) -> SetTempo | None:
        """Once per beat (from its middle on): the tempo from the next beat, if it must change.

        Returns:
            The command submitted, or None.
        """
        engine = self.engine
        if not engine.playing or engine.ended:
            return None
        self._watch_segments()
        at = self.now()
        origin = at - engine.show_time()
        playhead = engine.clock.beat_at(at - origin)
        beat = math.floor(playhead)
        if playhead - beat < 0.5 or beat <= self._last_beat or beat + 1 <= self._hold_until_beat:
            return None
        if engine.clock.segments[-1].beat > beat + 1:  # a song's tempo already placed further on
            return None
        reading = self.reference.read()
        if reading is None:
            return None
        self._last_beat = beat
        target = beat + 1
        time_of_target = origin + engine.clock.time_at(target)
        ahead = reading.beat + (time_of_target - reading.at) * reading.bpm / 60.0
        gap = gap_beats(ahead, target, self.reference.wrap_beats)
        self.last_gap_beats = gap
        bpm = corrected_bpm(reading.bpm, gap, self.config)
        if abs(bpm - engine.clock.bpm_at(target)) <= self.config.tolerance * bpm:
            return None
        command = SetTempo(bpm)
        self._own.append(bpm)
        self.corrections += 1
        engine.submit(command)
        return command

    async def run(self) -> None:
        """Step every `poll_s` until the show ends (or the task is cancelled)."""
        while not self.engine.ended:
            self.step()
            await asyncio.sleep(self.config.poll_s)

    def _watch_segments(self) -> None:
        """Offer the reference every tempo change the show made itself; hold corrections until it sounds."""
        segments = list(self.engine.clock.segments)
        known = {id(segment) for segment in self._known}
        for segment in segments:
            if id(segment) in known:
                continue
            if segment.bpm in self._own:
                self._own.remove(segment.bpm)
            elif segment is not segments[0] or self._known:
                origin = self.now() - self.engine.show_time()
                if self.reference.propose(segment.bpm, origin + segment.time):
                    self._hold_until_beat = max(self._hold_until_beat, segment.beat)
                    log.info("tempo %.2f bpm at beat %g offered to the external clock", segment.bpm, segment.beat)
        self._known = segments
