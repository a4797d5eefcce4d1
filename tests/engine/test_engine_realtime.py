"""The engine on the wall clock: a lagging voice costs notes, never time; commands from other threads."""

from __future__ import annotations

import asyncio
import math
import threading
import time

from engine_helpers import assert_channels_reset, assert_no_hanging_notes, eighths, note_ons

from encore.engine.commands.mix import Mute
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import percentile
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.models.notes import NoteEvent


class SlowVoice(Voice):
    """A note every beat, but each render takes `delay_s` of wall time (a model too slow for the tempo)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("slow", 1)
        self.delay_s = delay_s
        self._position = 0.0

    @property
    def position_beats(self) -> float:
        return self._position

    def render_until(self, beat: float) -> list[NoteEvent]:
        time.sleep(self.delay_s)
        start, end = math.ceil(self._position), math.ceil(beat)
        self._position = max(self._position, float(end))  # as `Voice.render_until` asks: at least `beat`
        return [NoteEvent(float(b), 50, 80, 0.5) for b in range(start, end)]


def test_a_lagging_voice_counts_underruns_while_the_others_keep_time() -> None:
    sink = MemorySink()
    config = EngineConfig(bpm=240.0, lookahead_bars=0.25, min_lookahead_s=0.2, render_chunk_beats=0.5)
    engine = Engine([eighths(), SlowVoice(delay_s=0.6)], [sink], config)
    report = asyncio.run(engine.run(3.0))
    assert report.counts.underruns > 0 and report.counts.dropped + report.counts.shifted > 0
    on_time = [e for e in note_ons(sink.events, "pattern")]
    assert len(on_time) >= 24  # every eighth of the healthy voice was played
    lateness = report.lateness
    assert percentile(lateness, 0.5) < 0.001 and percentile(lateness, 0.95) < 0.005, report.jitter_ms()
    assert_no_hanging_notes(sink.events)
    assert_channels_reset(sink.events, [0, 1])


def test_commands_from_another_thread_take_effect_and_stop_ends_the_show() -> None:
    sink = MemorySink()
    engine = Engine([eighths()], [sink], EngineConfig(bpm=240.0))

    def operator() -> None:
        time.sleep(0.5)
        engine.submit(Mute("pattern"))
        time.sleep(0.5)
        engine.stop()

    thread = threading.Thread(target=operator)
    thread.start()
    started = time.perf_counter()
    report = asyncio.run(engine.run(30.0))
    thread.join()
    assert time.perf_counter() - started < 3.0
    assert 0.9 < report.seconds < 1.5
    ons = note_ons(sink.events)
    assert ons and ons[-1].time < 0.7  # muted after ~0.5 s
    assert_no_hanging_notes(sink.events)
    assert_channels_reset(sink.events, [0])
    assert report.first_note_s is not None and report.first_note_s < 0.5
