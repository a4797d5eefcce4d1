"""A show performed inside another program's event loop, beside its other tasks; the offline path too."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import mido
import pytest
from engine_helpers import assert_no_hanging_notes, eighths, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.sinks.base import MemorySink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.songs import SongPlan

CLICK = "[click]\n[[songs]]\nname = 'count-in'\ntempo = 120\nbars = 1\n[[songs]]\ntempo = 60\nbars = 1\n"


async def beside(show: Show, every_s: float = 0.01) -> tuple[int, list[ShowSnapshot], object]:
    """Perform `show` while another task ticks and polls snapshots; returns ticks, snapshots, report."""
    ticks, snapshots = 0, []

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            snapshots.append(show.snapshot())
            await asyncio.sleep(every_s)

    task = asyncio.create_task(other_task())
    try:
        report = await show.perform()
    finally:
        task.cancel()
    return ticks, snapshots, report


def test_a_real_time_show_performs_in_a_running_loop_beside_another_task() -> None:
    sink = MemorySink()
    show = Show(Engine([eighths()], [sink], EngineConfig(bpm=240.0)), seconds=1.0)
    start = time.perf_counter()
    ticks, snapshots, report = asyncio.run(beside(show))
    assert 0.9 < time.perf_counter() - start < 3.0
    assert ticks > 30  # the loop stayed free: the other task ran every ~10 ms
    assert any(s.playing for s in snapshots) and not show.snapshot().playing
    assert len(note_ons(sink.events)) >= 8 and report.counts.underruns == 0  # 8 per second at 240 bpm
    assert_no_hanging_notes(sink.events)
    with pytest.raises(RuntimeError, match="performed once"):
        asyncio.run(show.perform())


def test_an_offline_show_renders_in_a_worker_thread_so_the_loop_stays_free() -> None:
    sink = MemorySink()
    # Long enough (10 minutes of music) that the render takes a while on any machine.
    songs = (SongPlan("a", 400.0, (SetTempo(120.0),)), SongPlan("b", 400.0, (SetTempo(60.0),)))
    engine = Engine([eighths()], [sink], EngineConfig(bpm=120.0, tick_s=0.01), now=VirtualClock(), songs=songs)
    show = Show(engine, offline=True)
    ticks, snapshots, report = asyncio.run(beside(show, every_s=0.001))
    assert report.seconds == pytest.approx(200.0 + 400.0)  # ends with the last song: 400 beats at 120, 400 at 60
    assert ticks > 1 and {s.song.name for s in snapshots if s.playing} <= {"a", "b"}
    assert note_ons(sink.events)[-1].beat == 799.5
    assert_no_hanging_notes(sink.events)


def test_stop_from_the_loop_ends_a_real_time_show() -> None:
    sink = MemorySink()
    show = Show(Engine([eighths()], [sink], EngineConfig(bpm=240.0)), seconds=30.0)

    async def main() -> object:
        asyncio.get_running_loop().call_later(0.5, show.stop)
        return await show.perform()

    report = asyncio.run(main())
    assert report.seconds < 2.0
    assert_no_hanging_notes(sink.events)


def test_a_setlist_show_is_built_and_performed_as_encore_play_does(tmp_path: Path) -> None:
    (tmp_path / "click.toml").write_text(CLICK)
    setlist = load_setlist(tmp_path / "click.toml")
    options = PlayOptions(headless=True, record=tmp_path / "set.mid")
    show = Show.build(setlist, options)
    assert show.offline and show.seeds_folder == tmp_path
    assert [s.name for s in [show.snapshot().song, show.snapshot().next_song]] == ["count-in", "song 2"]
    report = asyncio.run(show.perform())
    assert report.seconds == pytest.approx(setlist.seconds()) and report.counts.underruns == 0
    assert mido.MidiFile(tmp_path / "set.mid").length == pytest.approx(setlist.seconds(), abs=0.01)
