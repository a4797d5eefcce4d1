"""Driving the UI against a real show: build it, perform it beside the app, read the screen."""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import mido
from rich.console import Console
from textual.pilot import Pilot

from encore.engine.report import ShowReport
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.surfaces import Surface, perform_with_surfaces
from encore.stage.ui.app import StageApp
from encore.stage.ui.config import UiConfig

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
OTHER_SEED = REPO / "tests" / "fixtures" / "piano_midi_de" / "clementi_opus36_3_2.mid"

SETLIST = """\
title = "UI test"

[show]
time_signature = "4/4"
lookahead_bars = 1.0

[piano]
checkpoint = "tiny"      # random weights: plays at once, no download
channel = 1
sampling_seed = 7

[drums]
checkpoint = "factorized"
mode = "library"
groove = "pop"
channel = 10

[[songs]]
name = "intro"
seed = "seeds/pop909_003.mid"
tempo = 120
temperature = 0.9
top_p = 0.9
bars = {bars}

[[songs]]
name = "verse"
seed = "seeds/pop909_003.mid"
tempo = 100
temperature = 1.0
top_p = 0.95
bars = {bars}

[[songs]]
name = "outro"
seed = "seeds/pop909_003.mid"
tempo = 90
temperature = 0.8
top_p = 0.9
bars = {bars}
"""


def write_setlist(folder: Path, bars: int = 16) -> Path:
    """A setlist in `folder` with its seeds beside it in `seeds/` (the shipped seed and a second one)."""
    seeds = folder / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, seeds / SEED.name)
    shutil.copy(OTHER_SEED, seeds / "other.mid")
    path = folder / "set.toml"
    path.write_text(SETLIST.format(bars=bars))
    return path


WAIT_S = 30.0
"""Longest wait for anything the engine does (generous: the machine is shared and loaded)."""

Scenario = Callable[[StageApp, Pilot], Awaitable[None]]


class FakeClock:
    """A clock the test moves by hand (tap tempo)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def build_show(setlist: Path, record: Path | None = None) -> Show:
    """The setlist as a real-time show with no sound card: recorded to `record` if given."""
    return Show.build(load_setlist(setlist), PlayOptions(headless=True, realtime=True, record=record))


def screen_text(app: StageApp) -> str:
    """The screen as plain text, as a terminal would show it (what `App.export_screenshot` draws)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


CHECK_EVERY_S = 0.1
"""How often a wait looks again (reading the screen costs a render: not too often on a loaded machine)."""


async def until(check: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> None:
    """Wait until `check()` is true (polling the loop), else fail saying `what`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(CHECK_EVERY_S)


async def until_status(app: StageApp, prefix: str) -> str:
    """Wait for the status line to start with `prefix` (a command's result); returns the line."""
    await until(lambda: app.status_text.startswith(prefix), f"status {prefix!r} (it says {app.status_text!r})")
    await asyncio.sleep(0.1)  # the next poll draws the engine's new state
    return app.status_text


async def until_screen(app: StageApp, text: str) -> str:
    """Wait until the screen shows `text`; returns the screen."""
    await until(lambda: text in screen_text(app), f"{text!r} on screen:\n{screen_text(app)}")
    return screen_text(app)


def play_with_ui(show: Show, scenario: Scenario, config: UiConfig | None = None, surfaces: list[Surface] | None = None,
                 now: Callable[[], float] = time.monotonic, size: tuple[int, int] = (100, 30)) -> ShowReport:
    """Perform `show` with `surfaces` beside it and the app under Textual's pilot running `scenario`
    once the show plays; the show is stopped after the scenario (if it still plays) and its report returned."""
    surfaces = surfaces or []
    app = StageApp(show, config, surfaces, now)

    async def main() -> ShowReport:
        performing = asyncio.ensure_future(perform_with_surfaces(show, surfaces))
        try:
            async with app.run_test(size=size) as pilot:
                await until(lambda: show.snapshot().playing and show.snapshot().notes_sent > 0, "the show to play")
                await scenario(app, pilot)
        finally:
            show.stop()
        return await asyncio.wait_for(performing, WAIT_S)

    return asyncio.run(main())


def digit_lines(text: str) -> list[str]:
    """The three lines the UI's large (bold) digits draw `text` with."""
    from rich.style import Style
    from textual.renderables.digits import Digits

    console = Console(file=io.StringIO(), width=80, record=True)
    console.print(Digits(text, Style(bold=True)))
    return console.export_text().splitlines()


def assert_every_note_closed(path: Path) -> None:
    """Every note-on in the MIDI file at `path` has its note-off, none ends twice, and it holds notes."""
    midi = mido.MidiFile(path)
    sounding: dict[tuple[int, int], int] = {}
    notes = 0
    for track in midi.tracks:
        for message in track:
            if message.type == "note_on" and message.velocity > 0:
                key = (message.channel, message.note)
                sounding[key] = sounding.get(key, 0) + 1
                notes += 1
            elif message.type in ("note_off", "note_on"):
                key = (message.channel, message.note)
                sounding[key] = sounding.get(key, 0) - 1
                assert sounding[key] >= 0, f"a note-off without its note: {message}"
    assert notes > 0 and not any(sounding.values()), f"notes left sounding: {sounding}"
