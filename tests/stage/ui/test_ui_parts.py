"""The UI's pure parts (piano roll drawing, tap tempo, phrases, result lines, key map) with literal
expectations, and the UI surface beside a real show: closed when the show ends, and a UI that breaks
never stops the music."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from encore.engine.commands.jump import Next
from encore.engine.commands.mix import Mute
from encore.engine.commands.record import Record
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic
from encore.engine.engine import Engine, EngineConfig
from encore.engine.results import Applied, Rejected
from encore.engine.show import Show
from encore.engine.sinks.base import MemorySink, SinkStatus
from encore.engine.snapshot import ShowSnapshot, VoiceSnapshot
from encore.engine.surfaces import perform_with_surfaces
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig
from encore.stage.ui.config import UiConfig
from encore.stage.ui.intents import describe, last_bars_phrase, sampling_step, tempo_step
from encore.stage.ui.panels import KEY_MAP, health_line, key_map_lines, output_line
from encore.stage.ui.piano_roll import roll_lines
from encore.stage.ui.pickers import seed_files
from encore.stage.ui.surface import UiSurface
from encore.stage.ui.tap_tempo import TapTempo


def test_roll_lines_draw_notes_by_time_and_pitch_in_half_blocks() -> None:
    notes = [(0.0, 60, 90, 1.0), (2.0, 71, 90, 2.0), (3.0, 66, 90, 0.5)]
    # 8 columns over 4 beats (half a beat each); 60-71 over 2 lines of 2 half cells: 71 top, 60 bottom.
    # 66 is nearer 71 than 60: the top line's lower half, under the end of 71.
    assert roll_lines(notes, 0.0, 4.0, 8, 2) == ["    ▀▀█▀",
                                                 "▄▄      "]
    assert roll_lines(notes, 4.0, 8.0, 4, 2) == ["    ", "    "]  # nothing in the window
    assert roll_lines([(-1.0, 60, 90, 1.5)], 0.0, 2.0, 4, 1) == ["▄   "]  # cut at the window's start
    assert roll_lines(notes, 0.0, 4.0, 0, 2) == ["", ""]


def test_tap_tempo_needs_three_taps_and_starts_over_after_a_pause() -> None:
    clock = [10.0]
    tapper = TapTempo(lambda: clock[0], reset_s=2.0)
    tempos = []
    for gap in (0.0, 0.5, 0.5, 0.5, 3.0, 0.4, 0.4):
        clock[0] += gap
        tempos.append(tapper.tap())
    assert tempos == [None, None, 120.0, 120.0, None, None, 150.0]


def test_tap_tempo_takes_the_median_interval() -> None:
    clock = [0.0]
    tapper = TapTempo(lambda: clock[0])
    for gap in (0.0, 0.5, 0.5, 0.9, 0.5):  # one late tap does not move it
        clock[0] += gap
        bpm = tapper.tap()
    assert bpm == 120.0


def test_commands_from_keys() -> None:
    voice = _voice("piano", SamplingConfig(temperature=0.9, top_p=0.95))
    assert sampling_step(voice, "temperature", 0.05).changes() == {"temperature": 0.95}
    assert sampling_step(voice, "top_p", -0.02).changes() == {"top_p": 0.93}
    assert tempo_step(118.0, 2.0) == SetTempo(120.0) and tempo_step(99.96, -2.0) == SetTempo(98.0)


def test_the_phrase_of_the_last_bars_keeps_its_place_in_the_bar() -> None:
    notes = ((3.5, 50, 80, 0.5), (4.0, 60, 90, 1.0), (6.5, 62, 91, 3.0), (8.25, 64, 92, 0.5))
    snapshot = _snapshot(bar=3, voices=(_voice("piano", recent=notes),))
    # Bar 3 starts at beat 8: the bar before it is beats 4-8; a note running past beat 8 is cut there.
    assert last_bars_phrase(snapshot, snapshot.voices[0], 1) == (NoteEvent(0.0, 60, 90, 1.0), NoteEvent(2.5, 62, 91, 1.5))
    assert len(last_bars_phrase(snapshot, snapshot.voices[0], 2)) == 3
    assert last_bars_phrase(_snapshot(bar=1, voices=(_voice("piano", recent=notes),)), snapshot.voices[0], 1) == ()


def test_result_lines() -> None:
    assert describe(Applied(SetTempo(100.0))) == "✓ tempo bpm=100"
    assert describe(Applied(Mute("drums"))) == "✓ mute voice=drums muted=on"
    assert describe(Applied(Record(False))) == "✓ record on=off"
    assert describe(Rejected(Next(), "next: song 3 (outro) is the last")) == "✗ next: song 3 (outro) is the last"
    assert describe(Rejected(Mute("bass"), "voice: no voice named 'bass'")) == "✗ mute voice=bass muted=on: voice: no voice named 'bass'"
    phrase = Reseed((NoteEvent(0.0, 60, 90, 1.0),) * 3)
    assert describe(Applied(phrase)) == "✓ reseed voice=piano seed=phrase (3 notes)"
    assert describe(Applied(Reseed(Path("/x/seeds/a.mid")))) == "✓ reseed voice=piano seed=a.mid"
    assert describe(Applied(Panic())) == "✓ panic"


def test_panels_lines() -> None:
    assert output_line(SinkStatus("audio", "audio", "off", "no audio output device")) == (
        "audio off: no audio output device", "bold #ff5f5f")
    assert output_line(SinkStatus("recorder:/t/r.mid", "recorder", "paused", "/t/r.mid", 12.4))[0] == "recorder r.mid paused 12s"
    assert output_line(SinkStatus("mqtt", "mqtt", "reconnecting in 2 s: refused"))[1] == "bold #ffaf00"
    assert health_line(_snapshot(bar=1)) == "ahead 1500/2000 ms  underruns 0  350 tok/s  jitter 0.25 ms  42 notes"
    for width in (40, 80, 120):
        lines = key_map_lines(width)
        assert [entry for line in lines for entry in line] == list(KEY_MAP)
        assert all(sum(len(k) + 1 + len(a) for k, a in line) + 2 * (len(line) - 1) <= width for line in lines)
    assert len(key_map_lines(78)) == 2


def test_ui_config_checks_its_ranges() -> None:
    with pytest.raises(ValueError, match="poll_hz"):
        UiConfig(poll_hz=100)
    with pytest.raises(ValueError, match="reseed_bars"):
        UiConfig(reseed_bars=9)


def test_seed_files_are_the_setlist_folder_and_its_seeds(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    for name in ("b.mid", "seeds/a.MIDI", "seeds/c.mid", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in seed_files(tmp_path)] == ["seeds/a.MIDI", "b.mid", "seeds/c.mid"]
    assert seed_files(None) == []


def test_the_ui_surface_closes_when_the_show_ends_and_gives_the_log_back() -> None:
    show = _click_show(seconds=2.0)
    surface = UiSurface(headless=True)
    handlers = logging.getLogger().handlers[:]
    report = asyncio.run(perform_with_surfaces(show, [surface]))
    assert report.seconds == pytest.approx(2.0, abs=0.1) and report.notes_sent > 0
    assert surface.status().state == "closed" and logging.getLogger().handlers == handlers


class BrokenSurface:
    """A surface whose status breaks after a while: the UI showing it fails."""

    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def status(self) -> SinkStatus:
        self.calls += 1
        if self.calls > 10:
            raise RuntimeError("status exploded")
        return SinkStatus(self.name, "test", "open")

    async def run(self, show: Show) -> None:
        await asyncio.Event().wait()


def test_a_ui_that_breaks_never_stops_the_show(caplog: pytest.LogCaptureFixture) -> None:
    show, sink = _click_show(seconds=3.0), None
    sink = show.engine.sinks[0]
    broken = BrokenSurface()
    surface = UiSurface(UiConfig(poll_hz=20), others=[broken], headless=True)
    with caplog.at_level(logging.ERROR):
        report = asyncio.run(perform_with_surfaces(show, [broken, surface]))
    assert surface.status().state == "failed"
    assert any("ui stopped: the terminal UI stopped with an error" in r.getMessage() for r in caplog.records)
    # The show played to its end: notes after the UI broke (about 0.5 s in) up to the last second.
    assert report.seconds == pytest.approx(3.0, abs=0.1)
    assert max(e.time for e in sink.events if e.is_note_on) > 2.5


def _click_show(seconds: float) -> Show:
    voice = PatternVoice("click", 9, click_pattern(4), 4.0)
    return Show(Engine([voice], [MemorySink()], EngineConfig(bpm=240.0)), seconds)


def _voice(name: str, sampling: SamplingConfig | None = None, recent: tuple = ()) -> VoiceSnapshot:
    return VoiceSnapshot(name, "piano", 0, sampling or SamplingConfig(), False, False, True, False, None, None, None,
                         0.0, None, recent)


def _snapshot(bar: int, tempo: float = 120.0, voices: tuple[VoiceSnapshot, ...] = ()) -> ShowSnapshot:
    beats = (bar - 1) * 4.0
    return ShowSnapshot(True, beats / 2, beats, bar, 1.0, tempo, (4, 4), None, None, voices, (), 1500.0, 2000.0,
                        0, 0, 0, 42, 350.0, 0.25)
