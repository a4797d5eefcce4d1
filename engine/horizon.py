"""Where a change to a voice is heard from, and asking the voice to render again from there.

A command that changes what a voice plays (`SetSampling`, `Reseed`, `SetGroove`, `SetKey`) revises the
voice from the commit horizon on (`EngineConfig.commit_s` ahead of the playhead; `encore.engine.revisions`),
when the voice can revise and revisions are on; otherwise it takes effect after what is already rendered.
A change can reach back further, to the first of the voice's onsets that it can render again before it is
due (`revision_beat`). The performer's notes (`encore.engine.performer`) revise the piano the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from encore.engine.clock import MusicalClock
from encore.engine.config import EngineConfig
from encore.engine.latency import Asked, LatencyMarks
from encore.engine.revisions import Revisions
from encore.engine.voices.base import Seed, Voice

ANSWER_BASE_S = 0.02
"""What a re-render costs besides its model steps: taking the request between two steps, the rewind, the
round trip through the event loop (measured: 10-15 ms; benchmarks/bench_engine.py)."""
ANSWER_MARGIN = 1.5
"""Model steps are counted this many times over, against a slow step on a busy machine."""


class Horizon:
    """The commit horizon of a show and the revisions asked from it (the engine's thread).

    Args:
        config: `commit_s` and `commit_min_s`.
        clock: The show's musical clock.
        show_time: Seconds since the show's origin.
        revisions: The holds of voices asked to render again (its scheduler has their queued onsets).
        latency: Control-latency marks; a revision re-arms those whose note it takes back.
        live: The voices still playing.
        seconds_per_token: A voice's decoding time per token (None: not measured yet; 0 where renders take
            no show time, on the virtual clock).
        wake: Wakes a voice's real-time feeder.
    """

    def __init__(self, config: EngineConfig, clock: MusicalClock, show_time: Callable[[], float],
                 revisions: Revisions, latency: LatencyMarks, live: Mapping[str, Voice],
                 seconds_per_token: Callable[[Voice], float | None], wake: Callable[[str], None]) -> None:
        self.config = config
        self.clock = clock
        self.show_time = show_time
        self.revisions = revisions
        self.latency = latency
        self.live = live
        self.seconds_per_token = seconds_per_token
        self.wake = wake

    def commit_beat(self) -> float:
        """The commit horizon: what sounds before this beat is final, what comes after can be revised."""
        return self.clock.beat_at(max(self.show_time(), 0.0) + (self.config.commit_s or 0.0))

    def revision_beat(self, voice: Voice) -> float:
        """Where a change to `voice` is heard from: the first onset of its queued notes, `commit_min_s` or
        more ahead and before the commit horizon, that it can render again before it is due; else the
        commit horizon."""
        horizon = self.commit_beat()
        seconds_per_token = self.seconds_per_token(voice)
        if self.config.commit_min_s is None or seconds_per_token is None:
            return horizon
        now = max(self.show_time(), 0.0)
        earliest = self.clock.beat_at(now + self.config.commit_min_s)
        for beat, notes in self.revisions.scheduler.onsets(voice.name, earliest, horizon):
            tokens = voice.answer_tokens(notes)
            if tokens is None:
                return horizon
            needed = ANSWER_BASE_S + ANSWER_MARGIN * tokens * seconds_per_token if seconds_per_token else 0.0
            if self.clock.time_at(beat) - now >= needed:
                return beat
        return horizon

    def revises(self, voice: Voice) -> bool:
        """Whether a change to `voice` is heard from the commit horizon (rewinds on, and the voice can)."""
        return self.config.commit_s is not None and voice.revisable and voice.name in self.live

    def revise(self, voice: Voice, from_beat: float, seed: Seed | None = None) -> None:
        """Make `voice` render again from `from_beat` (with `seed` from there); wake its feeder."""
        self.revisions.ask(voice, from_beat, seed)
        self.latency.rearm(voice.name, from_beat)
        self.wake(voice.name)

    def changed(self, voice: Voice, asked: Asked) -> None:
        """`voice` plays under a new setting: revise it from `revision_beat`, and mark the latency."""
        if self.revises(voice):
            beat = self.revision_beat(voice)
            self.revise(voice, beat)
        else:
            beat = voice.position_beats
        self.latency.mark(asked, voice.name, beat)

    def drop(self) -> None:
        """Forget every revision asked (a panic): each latency mark waits for its voice's next note."""
        self.revisions.drop()
        self.latency.rearm(None)
