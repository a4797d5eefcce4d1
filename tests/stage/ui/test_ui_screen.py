"""The main screen of a deterministic show (pattern voices on the virtual clock, held still mid-song):
its structure at 80x24 and 120x40, read as a terminal shows it, and the SVG screenshot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import screen_text, until

from encore.engine.clock import VirtualClock
from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.show import Show
from encore.engine.sinks.recorder import RecorderSink
from encore.engine.songs import SongPlan
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig
from encore.stage.ui.app import StageApp
from encore.stage.ui.panels import KEY_MAP
from encore.stage.ui.screenshot import held_at

HOLD_AT_S = 9.0
"""The show is held still here: beat 18 at 120 bpm, bar 5 beat 3 of the intro."""
MELODY = [NoteEvent(0.0, 60, 90, 1.0), NoteEvent(1.0, 64, 90, 1.0), NoteEvent(2.0, 67, 90, 1.0), NoteEvent(3.0, 72, 90, 1.0)]


@pytest.fixture
def held_show(tmp_path: Path) -> Iterator[Show]:
    """An offline show of a melody and a click, run on its virtual clock up to `HOLD_AT_S` and held there."""
    melody = PatternVoice("melody", 0, MELODY, 4.0)
    melody.sampling = SamplingConfig(temperature=0.7, top_p=0.85)
    songs = [SongPlan("intro", 32, (SetTempo(120.0),)), SongPlan("verse", 32, (SetTempo(100.0),))]
    engine = Engine([melody, PatternVoice("click", 9, click_pattern(4), 4.0)], [RecorderSink(tmp_path / "rec.mid")],
                    EngineConfig(bpm=120.0), now=VirtualClock(), songs=songs)
    with held_at(engine, HOLD_AT_S, 20.0):
        yield Show(engine, 20.0, offline=True)


def show_screen(show: Show, size: tuple[int, int]) -> tuple[str, StageApp, str]:
    """The screen text, the app and its SVG screenshot, once the first poll has drawn."""

    async def main() -> tuple[str, StageApp, str]:
        app = StageApp(show)
        async with app.run_test(size=size) as pilot:
            await until(lambda: "melody" in screen_text(app), "the first poll")
            await pilot.pause()
            return screen_text(app), app, app.export_screenshot()

    return asyncio.run(main())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_the_main_screen_shows_every_part_of_the_snapshot(held_show: Show, size: tuple[int, int]) -> None:
    text, app, _ = show_screen(held_show, size)
    lines = text.splitlines()
    assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
    assert lines[0].strip() == "song 1 intro  ▸ next 2 verse at bar 9"
    # Bar 5, beat 3 and 120 bpm in the large digits (three rows of box characters), the state beside them.
    assert (app.transport.position.value, app.transport.tempo.value) == ("5:3", "120.0")
    assert "PLAYING" in lines[1] and "4/4" in lines[2]
    assert any(ch in "".join(lines[1:4]) for ch in "┏━┓┃┗┛")
    rows = {line.replace("▶", " ").split()[1]: line.replace("▶", " ").split() for line in lines
            if line.replace("▶", " ").split()[:1] in (["1"], ["2"])}
    assert rows["melody"][2:] == ["0.70", "0.85", "-", "on"] and lines[lines.index(_line(lines, "1 melody"))].lstrip()[0] == "▶"
    assert rows["click"][2:] == ["1.00", "0.95", "-", "on"]
    roll = _band(lines, "melody", "click")
    assert sum(line.count("▀") + line.count("▄") + line.count("█") for line in roll) > 0
    ruler = lines[lines.index(_line(lines, "melody")) - 1]
    assert "|4" in ruler and "|5" in ruler  # the last bars: 4 and 5 (at least), the playhead in bar 5
    assert "out: recorder rec.mid open 9s" in text
    assert _line(lines, "ahead").split()[:1] == ["ahead"] and "underruns 0" in text and "notes" in text
    keys = " ".join(lines[-3:])
    assert all(f"{key} {action}" in keys for key, action in KEY_MAP)
    assert lines[-1].rstrip().endswith("Esc PANIC")


def test_the_svg_screenshot_has_the_screen_text(held_show: Show) -> None:
    _, _, svg = show_screen(held_show, (100, 30))
    plain = svg.replace("&#160;", " ")
    assert plain.startswith("<svg") and "encore" in plain
    for text in ("song 1 intro", "next 2 verse at bar 9", "melody", "recorder rec.mid open", "Esc", "PANIC"):
        assert text in plain, text


def _line(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.replace("▶", " ").strip().startswith(start))


def _band(lines: list[str], voice: str, after: str) -> list[str]:
    first, last = lines.index(_line(lines, voice)), lines.index(_line(lines, after))
    return lines[first:last]
