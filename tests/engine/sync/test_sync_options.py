"""The external-clock options of `encore play`, and what `attach_sync` refuses in one line."""

from __future__ import annotations

import argparse

import pytest
from engine_helpers import eighths

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.show import Show
from encore.engine.sinks.base import MemorySink
from encore.engine.sync.external import SyncOptions, attach_sync
from encore.models.errors import EncoreError
from encore.stage.cli.sync_options import add_sync_arguments, sync_from_args


def parse(*argv: str) -> SyncOptions:
    parser = argparse.ArgumentParser()
    add_sync_arguments(parser)
    return sync_from_args(parser.parse_args(list(argv)))


def test_options_parse_into_sync_options() -> None:
    assert parse() == SyncOptions()
    assert not parse().wanted
    options = parse("--clock-out", "A", "--clock-out", "B", "--clock-api", "jack", "--link", "--link-quantum", "8")
    assert options == SyncOptions(clock_out=("A", "B"), midi_api="jack", link=True, link_quantum=8.0)
    assert parse("--clock-in", "Master", "--clock-virtual") == SyncOptions(clock_in="Master", virtual=True)


def realtime_show() -> Show:
    return Show(Engine([eighths()], [MemorySink()], EngineConfig(bpm=120.0)), 1.0)


@pytest.mark.parametrize(("show", "options", "error"), [
    (lambda: Show(Engine([eighths()], [MemorySink()], now=VirtualClock()), 1.0, offline=True),
     SyncOptions(link=True), "external clocks need a real-time show"),
    (realtime_show, SyncOptions(clock_in="x", link=True), "--clock-in and --link would both set the tempo"),
    (realtime_show, SyncOptions(link=True, link_quantum=0.0), "--link-quantum must be positive"),
    (realtime_show, SyncOptions(clock_out=("no such port anywhere",), midi_api="alsa"), "MIDI"),
])
def test_attach_refuses_in_one_line(show, options: SyncOptions, error: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EncoreError, match=error) as raised:
        attach_sync(show(), options)
    assert "\n" not in str(raised.value)


def test_nothing_asked_attaches_nothing() -> None:
    show = realtime_show()
    assert attach_sync(show, SyncOptions()) == []
    assert show.engine.start_gate is None
