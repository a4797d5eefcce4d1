"""The follower against an ideal external clock, on a real engine's virtual clock: it locks the show's
beats onto the reference's, follows a tempo change within a few beats, stays quiet while the
reference is steady, and offers the show's own tempo changes to a reference that takes them."""

from __future__ import annotations

import pytest
from engine_helpers import eighths

from encore.engine.clock import VirtualClock
from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.sync.follower import FollowerConfig, Reading, TempoFollower, corrected_bpm, gap_beats


class TempoMapClock:
    """An external clock with a tempo map `[(from_time_s, bpm), ...]` on the engine's clock, its beat 0
    at `beat0_s`; it records the tempos proposed to it and, if `takes_tempo`, adopts them."""

    def __init__(self, clock: VirtualClock, tempos: list[tuple[float, float]], beat0_s: float = 0.0,
                 wrap_beats: float | None = None, takes_tempo: bool = False) -> None:
        self.clock, self.tempos, self.beat0_s = clock, list(tempos), beat0_s
        self.wrap_beats, self.takes_tempo = wrap_beats, takes_tempo
        self.proposed: list[tuple[float, float]] = []

    def beat_at(self, t: float) -> tuple[float, float]:
        beat, since, bpm = 0.0, self.beat0_s, self.tempos[0][1]
        for start, tempo in self.tempos[1:]:
            if t < start:
                break
            beat += (start - since) * bpm / 60
            since, bpm = start, tempo
        return beat + (t - since) * bpm / 60, bpm

    def read(self) -> Reading:
        now = self.clock()
        beat, bpm = self.beat_at(now)
        return Reading(bpm, beat, now)

    def propose(self, bpm: float, at: float) -> bool:
        self.proposed.append((bpm, at))
        if self.takes_tempo:
            self.tempos.append((at, bpm))
        return self.takes_tempo


def follow(reference_tempos: list[tuple[float, float]], seconds: float, bpm: float = 120.0, **kwargs: object
           ) -> tuple[list[tuple[float, float, float]], TempoFollower, TempoMapClock, Engine]:
    """Play `seconds` offline following the reference; per engine tick: (time, gap in beats, show tempo)."""
    clock = VirtualClock()
    engine = Engine([eighths()], [MemorySink()], EngineConfig(bpm=bpm), now=clock)
    reference = TempoMapClock(clock, reference_tempos, **kwargs)  # type: ignore[arg-type]
    follower = TempoFollower(engine, reference, FollowerConfig(), now=clock)
    trace: list[tuple[float, float, float]] = []

    def on_tick(show_time: float) -> None:
        follower.step()
        playhead = engine.playhead()
        gap = gap_beats(reference.beat_at(clock())[0], playhead, reference.wrap_beats)
        trace.append((show_time, gap, engine.clock.bpm_at(playhead)))

    engine.run_offline(seconds, on_tick=on_tick)
    return trace, follower, reference, engine


def test_gap_and_correction_formulas() -> None:
    config = FollowerConfig(correction_beats=2.0, max_correction=0.1)
    assert gap_beats(10.25, 10.0, None) == 0.25
    assert gap_beats(13.9, 10.0, 4.0) == pytest.approx(-0.1)  # modulo a quantum of 4: just behind
    assert corrected_bpm(120.0, 0.0, config) == 120.0
    assert corrected_bpm(120.0, 0.1, config) == pytest.approx(120.0 * 2 / 1.9)  # 0.1 beat made up over 2
    assert corrected_bpm(120.0, -0.1, config) == pytest.approx(120.0 * 2 / 2.1)
    assert corrected_bpm(120.0, 0.9, config) == pytest.approx(132.0)  # never more than 10% off
    assert corrected_bpm(390.0, 0.9, config) == 400.0  # nor outside the engine's range


def test_the_show_locks_onto_a_slower_reference_and_then_stays_quiet() -> None:
    trace, follower, _, _ = follow([(0.0, 100.0)], 20.0, bpm=120.0)
    late = [(gap, bpm) for t, gap, bpm in trace if t >= 10.0]
    assert max(abs(gap) for gap, _ in late) < 0.001  # under a millisecond at 100 bpm
    assert all(bpm == pytest.approx(100.0, rel=0.002) for _, bpm in late)
    quiet_from = follower.corrections
    follow_more = [t for t, _, _ in trace if t >= 15.0]
    assert follow_more and follower.corrections == quiet_from  # no command needed at a steady tempo


def test_a_tempo_change_is_followed_within_a_few_beats_and_the_gap_stays_under_a_beat() -> None:
    trace, _, _, _ = follow([(0.0, 100.0), (10.0, 130.0)], 20.0, bpm=100.0)
    after = [(t, gap, bpm) for t, gap, bpm in trace if t >= 10.0]
    assert max(abs(gap) for _, gap, _ in after) < 1.0
    beat_s = 60 / 130
    reached = next(t for t, _, bpm in after if bpm >= 130 * 0.98)
    assert reached - 10.0 < 2 * 60 / 100  # the new tempo sounds within two (old) beats
    assert all(abs(gap) < 0.01 for t, gap, _ in after if t > 10.0 + 10 * beat_s)


def test_phase_is_compared_modulo_the_quantum() -> None:
    """A Link session whose beat 0 lies 3.9 s before the show's: at 120 bpm it is 7.8 beats ahead, which
    modulo a quantum of 4 is 0.2 beat behind, so the show waits 0.2 beat instead of running 7.8 ahead."""
    trace, _, _, _ = follow([(0.0, 120.0)], 12.0, bpm=120.0, beat0_s=-3.9, wrap_beats=4.0)
    assert trace[0][1] == pytest.approx(-0.2)
    assert abs(trace[-1][1]) < 0.002


def test_the_shows_own_tempo_change_is_offered_to_a_reference_that_takes_it() -> None:
    clock = VirtualClock()
    engine = Engine([eighths()], [MemorySink()], EngineConfig(bpm=120.0), now=clock)
    reference = TempoMapClock(clock, [(0.0, 120.0)], takes_tempo=True)
    follower = TempoFollower(engine, reference, FollowerConfig(), now=clock)

    def on_tick(show_time: float) -> None:
        if show_time == pytest.approx(3.2):  # beat 6.4: the change sounds from beat 7 (3.5 s)
            engine.submit(SetTempo(90.0))
        follower.step()

    engine.run_offline(8.0, on_tick=on_tick)
    assert reference.proposed == [(90.0, pytest.approx(3.5))]
    assert follower.corrections == 0  # the reference took it: nothing to correct
    assert engine.clock.bpm_at(engine.playhead()) == 90.0


def test_a_tempo_change_a_master_does_not_take_is_steered_back() -> None:
    clock = VirtualClock()
    engine = Engine([eighths()], [MemorySink()], EngineConfig(bpm=120.0), now=clock)
    reference = TempoMapClock(clock, [(0.0, 120.0)])
    follower = TempoFollower(engine, reference, FollowerConfig(), now=clock)

    def on_tick(show_time: float) -> None:
        if show_time == pytest.approx(3.2):
            engine.submit(SetTempo(90.0))
        follower.step()

    engine.run_offline(10.0, on_tick=on_tick)
    assert reference.proposed == [(90.0, pytest.approx(3.5))]
    assert engine.clock.bpm_at(engine.playhead()) == pytest.approx(120.0, rel=0.002)
    assert abs(reference.beat_at(clock())[0] - engine.playhead()) < 0.01
