"""The piano's originality guard on the main screen: the passages it rendered again, or that it is off,
at the end of the piano's line (a real offline show held still, drawn under Textual's pilot)."""

from __future__ import annotations

import asyncio

from ui_helpers import screen_text, until

from encore.engine.show import Show
from encore.engine.voices.originality import TURNED_OFF, OriginalityGuard
from encore.stage.ui.app import StageApp
from encore.stage.ui.panels import voice_lines
from encore.stage.ui.screenshot import held_at
from tests.engine.originality_helpers import copying_engine, melody_index

HOLD_AT_S = 9.0


def piano_line(show: Show) -> str:
    """The piano's line on an 80x24 screen, once the first poll has drawn it."""

    async def main() -> str:
        app = StageApp(show)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: "piano" in screen_text(app), "the first poll")
            await pilot.pause()
            return next(line for line in screen_text(app).splitlines()
                        if line.replace("▶", " ").strip().startswith("1 piano "))

    return asyncio.run(main())


def test_the_piano_line_counts_the_passages_the_guard_rendered_again() -> None:
    guard = OriginalityGuard(melody_index())
    engine = copying_engine(guard)
    with held_at(engine, HOLD_AT_S, HOLD_AT_S + 1.0):
        line = piano_line(Show(engine, HOLD_AT_S + 1.0, offline=True))
        caught = guard.state().rerendered
    assert caught >= 3  # 9 s of a copying stream at 120 bpm: a copy every few beats
    assert line.split()[-3:] == ["on", "guard", str(caught)] and len(line) <= 80


def test_a_guard_that_is_off_says_so_and_other_voices_show_none() -> None:
    engine = copying_engine(OriginalityGuard(None, status=TURNED_OFF))
    engine.run_offline(2.0)
    lines = [line for line, _ in voice_lines(engine.snapshot(), 0)]
    assert lines[1].endswith(" on  guard off") and "guard" not in lines[0]
    bare = copying_engine(None)
    bare.run_offline(2.0)
    assert voice_lines(bare.snapshot(), 0)[1][0].endswith(" on")  # no guard: nothing after the mix
