"""Fixtures of the terminal UI tests: a small real setlist (tiny piano, shipped drums, three songs) and
the engine tests' real JACK server (for learn mode with a real MIDI controller port)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import write_setlist

from tests.engine.conftest import jack_server

__all__ = ["jack_server"]

@pytest.fixture
def setlist(tmp_path: Path) -> Path:
    """The test setlist (three songs of 16 bars) in a fresh folder."""
    return write_setlist(tmp_path / "show")


@pytest.fixture(autouse=True)
def short_idle_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pilot waits, after each key, until the process stops using CPU (at most 1 s, twice). A live
    show never stops (its voices decode in a thread), so every key would cost 2 s: wait 0.1 s instead.
    The pilot still waits for the screen to process the key (`Pilot._wait_for_screen`)."""
    from textual import _wait

    async def short(min_sleep: float = _wait.SLEEP_GRANULARITY, max_sleep: float = 1) -> None:
        await _wait.wait_for_idle(min_sleep, min(max_sleep, 0.1))

    monkeypatch.setattr("textual.app.wait_for_idle", short)
    monkeypatch.setattr("textual.pilot.wait_for_idle", short)
