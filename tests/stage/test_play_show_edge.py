"""`encore play`'s edge: signals stop the show it performs in its event loop, then the handlers are gone."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from encore.engine.engine import Engine, EngineConfig
from encore.engine.show import Show
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.stage.cli.play import perform_until_signalled


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_show_and_the_handlers_are_removed_after(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    sink = MemorySink()
    show = Show(Engine([PatternVoice("click", 9, click_pattern(4), 4.0)], [sink], EngineConfig(bpm=240.0)), seconds=30.0)

    async def main() -> object:
        asyncio.get_running_loop().call_later(0.5, os.kill, os.getpid(), sig)
        return await perform_until_signalled(show)

    report = asyncio.run(main())
    assert report.seconds < 2.0 and any(e.is_note_on for e in sink.events)
    assert signal.getsignal(sig) == before
