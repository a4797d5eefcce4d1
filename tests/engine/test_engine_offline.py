"""The engine on a virtual clock: an hour without drift or gaps, commands, failing voices and sinks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import (
    FailingSink,
    FailingVoice,
    assert_channels_reset,
    assert_no_hanging_notes,
    eighths,
    note_ons,
)

from encore.engine.clock import VirtualClock
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic, Stop
from encore.engine.control import Command
from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig


def offline(voices: list[Voice], sinks: list, **config: object) -> Engine:
    return Engine(voices, sinks, EngineConfig(**config), now=VirtualClock(100.0))


def at(show_time: float, command: Command, engine_ref: list[Engine]) -> Callable[[float], None]:
    """An on_tick hook that submits `command` once, at the first tick at or after `show_time`."""
    sent = []

    def hook(now: float) -> None:
        if now >= show_time and not sent:
            sent.append(True)
            engine_ref[0].submit(command)

    return hook


def test_a_simulated_hour_keeps_time_with_no_gaps() -> None:
    sink = MemorySink()
    engine = offline([eighths()], [sink], bpm=120.0, tick_s=0.05)
    report = engine.run_offline(3600.0)
    ons = note_ons(sink.events)
    assert len(ons) == 7200 * 2  # an eighth note every half beat, 7200 beats
    # Computed here from the tempo (120 bpm from show time 0), not read back from the engine's clock:
    # the i-th eighth is at beat i / 2, so at i / 2 * 60 / 120 s, exactly, an hour in (no drift).
    assert [e.beat for e in ons] == [i * 0.5 for i in range(len(ons))]
    assert [e.time for e in ons] == [i * 0.5 * 60.0 / 120.0 for i in range(len(ons))]
    assert ons[-1].time == pytest.approx(3599.75, abs=1e-9)
    gaps = [b.time - a.time for a, b in zip(ons, ons[1:], strict=False)]
    assert max(gaps) == pytest.approx(0.25, abs=1e-9)  # never longer than the music's own rests
    assert report.counts.underruns == 0 and report.seconds == 3600.0
    assert_no_hanging_notes(sink.events)
    assert_channels_reset(sink.events, [0])


def test_tempo_change_takes_effect_at_the_next_beat_without_moving_the_past() -> None:
    sink, ref = MemorySink(), []
    engine = offline([eighths()], [sink], bpm=120.0)
    ref.append(engine)
    report = engine.run_offline(8.0, on_tick=at(2.1, SetTempo(60.0), ref))
    ons = note_ons(sink.events)
    before = [e for e in ons if e.beat < 5.0]
    after = [e for e in ons if e.beat >= 5.0]
    assert [e.time for e in before] == [b * 0.5 for b in [i * 0.5 for i in range(10)]]
    assert [e.time for e in after[:3]] == [2.5, 3.0, 3.5]  # beat 5 (next after 4.2) at 2.5 s, then 1 s/beat
    assert engine.clock.bpm_at(5.0) == 60.0
    assert report.control_latencies[0].command == "SetTempo"
    assert report.control_latencies[0].seconds == pytest.approx(0.4, abs=0.011)
    assert [e.beat for e in sink.events if e.is_meta] == [0.0, 5.0]
    assert_no_hanging_notes(sink.events)


def test_a_failing_voice_is_stopped_and_the_others_play_on() -> None:
    sink = MemorySink()
    engine = offline([eighths("keys", 0), FailingVoice("bad", 2, fail_at_beat=6.0)], [sink], bpm=120.0)
    report = engine.run_offline(10.0)
    assert report.voice_failures == ["bad: RuntimeError: model blew up"]
    assert note_ons(sink.events, "keys")[-1].time == pytest.approx(9.75)
    assert note_ons(sink.events, "bad")  # it played before failing
    assert_no_hanging_notes(sink.events)
    failed_at = next(e.time for e in sink.events if e.track == "bad" and e.message[:2] == (0xB2, 123))
    assert failed_at < 10.0  # released when it failed, not at the end
    assert_channels_reset(sink.events, [0, 2])


def test_a_failing_sink_is_reported_and_the_show_goes_on() -> None:
    sink, bad = MemorySink(), FailingSink(fail_on=10)
    engine = offline([eighths()], [bad, sink], bpm=120.0)
    report = engine.run_offline(5.0)
    assert [f.sink for f in report.sink_failures] == ["failing"]
    assert len(note_ons(sink.events)) == 20
    assert_no_hanging_notes(sink.events)
    assert_channels_reset(sink.events, [0])


def test_mute_and_solo_take_effect_at_the_next_note() -> None:
    sink, ref = MemorySink(), []
    engine = offline([eighths("a", 0), eighths("b", 1, pitch=40)], [sink], bpm=120.0)
    ref.append(engine)
    hooks = [at(1.0, Mute("a"), ref), at(2.0, Mute("a", False), ref), at(3.0, Solo("b"), ref)]
    engine.run_offline(4.0, on_tick=lambda now: [hook(now) for hook in hooks])
    a_times = [e.time for e in note_ons(sink.events, "a")]
    assert a_times == [0.0, 0.25, 0.5, 0.75, 2.0, 2.25, 2.5, 2.75]
    assert len(note_ons(sink.events, "b")) == 16
    assert_no_hanging_notes(sink.events)


@pytest.mark.parametrize(("commit_s", "bar"), [(0.1, 4.0), (None, 8.0)])
def test_reseed_starts_the_new_phrase_at_the_next_bar_line_it_can_reach(commit_s: float | None, bar: float) -> None:
    """Revised from the commit horizon (beat 2.2 at 1 s): the bar line at 4. Without revisions, after what
    was rendered (to ~beat 7 at 1 s: a bar of lookahead and a chunk): the bar line at 8."""
    sink, ref = MemorySink(), []
    engine = offline([eighths()], [sink], bpm=120.0, commit_s=commit_s)
    ref.append(engine)
    phrase = [NoteEvent(0.0, 72, 100, 1.0)]
    report = engine.run_offline(10.0, on_tick=at(1.0, Reseed(phrase, "pattern"), ref))
    first_new = next(e for e in note_ons(sink.events) if e.message[1] == 72)
    assert first_new.beat == bar
    assert all(e.message[1] == 72 for e in note_ons(sink.events) if e.beat >= bar)
    assert [e.beat for e in note_ons(sink.events) if e.beat < bar] == [i * 0.5 for i in range(int(bar * 2))]
    assert report.control_latencies[0].seconds == pytest.approx(first_new.time - 1.0, abs=0.011)
    assert_no_hanging_notes(sink.events)


@pytest.mark.parametrize(("commit_s", "low", "high"), [(0.1, 0.1, 0.35), (None, 2.0, 3.0)])
def test_sampling_change_is_picked_up_and_its_latency_measured(commit_s: float | None, low: float,
                                                              high: float) -> None:
    """Revised from the commit horizon (100 ms), the change sounds at the next eighth after it; without
    revisions, after the bar and the chunk already rendered."""
    sink, ref = MemorySink(), []
    voice = eighths()
    engine = offline([voice], [sink], bpm=120.0, commit_s=commit_s)
    ref.append(engine)
    command = SetSampling(temperature=0.5, top_p=0.8, min_p=0.05, repetition_penalty=1.2)
    report = engine.run_offline(6.0, on_tick=at(2.0, command, ref))
    assert voice.sampling == SamplingConfig(temperature=0.5, top_p=0.8, min_p=0.05, repetition_penalty=1.2)
    latency = report.control_latencies[0]
    assert latency.command == "SetSampling" and low <= latency.seconds <= high
    ons = note_ons(sink.events)
    assert [e.beat for e in ons] == [i * 0.5 for i in range(len(ons))]  # re-rendered, nothing twice or lost
    assert_no_hanging_notes(sink.events)


def test_panic_silences_now_and_the_show_goes_on() -> None:
    sink, ref = MemorySink(), []
    engine = offline([eighths()], [sink], bpm=120.0)
    ref.append(engine)
    engine.run_offline(8.0, on_tick=at(2.1, Panic(), ref))
    resets = [e.time for e in sink.events if e.message[:2] == (0xB0, 123)]
    assert resets[0] == pytest.approx(2.1, abs=0.011) and len(resets) == 2
    assert note_ons(sink.events)[-1].time > 6.0
    assert_no_hanging_notes(sink.events)


def test_stop_ends_the_show_and_releases() -> None:
    sink, ref = MemorySink(), []
    engine = offline([eighths()], [sink], bpm=120.0)
    ref.append(engine)
    report = engine.run_offline(60.0, on_tick=at(3.0, Stop(), ref))
    assert report.seconds == pytest.approx(3.0, abs=0.011)
    assert_no_hanging_notes(sink.events)
    assert_channels_reset(sink.events, [0])


def test_lookahead_is_a_bar_but_never_under_the_minimum() -> None:
    engine = offline([eighths()], [MemorySink()], bpm=120.0)
    assert engine.lookahead_beats() == 4.0
    fast = offline([eighths()], [MemorySink()], bpm=120.0, lookahead_bars=0.05, min_lookahead_s=0.2)
    assert fast.lookahead_beats() == pytest.approx(0.4)
