"""Control latency: from a command's submission to the moment the first note rendered under it sounds.

A command that changes what a voice plays leaves a `LatencyMark` on that voice (`LatencyMarks.mark`):
the first note at or after the mark's beat that is queued after the change is found when it is queued
(`match`) and counted once its time has come (`settle`); if a later revision takes that note back
first (`rearm`), the mark waits for the next one. A command heard at a known time (a tempo change)
is counted at once (`record`). Everything here runs in the engine's thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from encore.engine.report import ControlLatency


@dataclass(frozen=True)
class Asked:
    """A command as control latency counts it: its type's name and the engine clock's reading at submission."""

    command: str
    at: float


@dataclass
class LatencyMark:
    """A command waiting for the first note rendered under it to sound.

    Attributes:
        asked: The command and when it was submitted.
        voice: The voice whose notes count.
        from_beat: The first note at or after this beat, queued from a render after the command, counts.
        onset_beat: That note's beat once queued (None while waiting for it).
        onset_time: The show time it sounds at.
    """

    asked: Asked
    voice: str
    from_beat: float
    onset_beat: float | None = None
    onset_time: float | None = None


class LatencyMarks:
    """The marks waiting for their note, and the latencies counted so far.

    Args:
        clock_at: The engine clock's reading at a show time (the show's origin added).
    """

    def __init__(self, clock_at: Callable[[float], float]) -> None:
        self.clock_at = clock_at
        self.marks: list[LatencyMark] = []
        self.latencies: list[ControlLatency] = []

    def mark(self, asked: Asked, voice: str, from_beat: float) -> None:
        """Count `asked` when the first note of `voice` at or after `from_beat`, rendered from now on, sounds."""
        self.marks.append(LatencyMark(asked, voice, from_beat))

    def record(self, asked: Asked, track: str, show_time: float) -> None:
        """Count `asked` as heard on `track` at `show_time`."""
        self.latencies.append(ControlLatency(asked.command, track, self.clock_at(show_time) - asked.at))

    def match(self, voice: str, kept: Sequence[tuple[float, float]]) -> None:
        """Give each mark of `voice` still waiting the first of the notes just queued (`(beat, show time)`)
        at or after its beat."""
        for mark in self.marks:
            if mark.voice == voice and mark.onset_beat is None:
                found = next(((beat, time) for beat, time in kept if beat >= mark.from_beat), None)
                if found is not None:
                    mark.onset_beat, mark.onset_time = found

    def rearm(self, voice: str | None, from_beat: float = -math.inf) -> None:
        """Marks of `voice` (every voice's with None) whose note, at or after `from_beat`, was taken back
        wait for the next one from there."""
        for mark in self.marks:
            if (voice is None or mark.voice == voice) and mark.onset_beat is not None and mark.onset_beat >= from_beat:
                mark.onset_beat = mark.onset_time = None
                mark.from_beat = max(mark.from_beat, from_beat)

    def settle(self, show_time: float) -> None:
        """Count the marks whose note has sounded by `show_time`."""
        for mark in [m for m in self.marks if m.onset_time is not None and m.onset_time <= show_time]:
            self.marks.remove(mark)
            self.record(mark.asked, mark.voice, mark.onset_time)
