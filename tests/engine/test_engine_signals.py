"""`encore play` stopped by SIGINT or SIGTERM mid-show: exits 0 with a complete, silent-at-the-end file."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from pathlib import Path

import mido
import pytest
from test_engine_kill import CLICK_SETLIST, encore

from encore.engine.midi import CC_ALL_NOTES_OFF, CC_SUSTAIN

PLAY_BEFORE_SIGNAL_S = 1.5
EXIT_TIMEOUT_S = 30


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_show_stops_it_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "click.toml").write_text(CLICK_SETLIST)
    show = encore("play", "click.toml", "--headless", "--realtime", "--record", "out.mid", cwd=tmp_path)
    journal = tmp_path / "out.journal"
    deadline = time.monotonic() + 30
    while not journal.exists() or len(journal.read_text().splitlines()) < 3:  # the show is sounding
        assert show.poll() is None and time.monotonic() < deadline, show.stdout.read() if show.stdout else ""
        time.sleep(0.05)
    time.sleep(PLAY_BEFORE_SIGNAL_S)
    show.send_signal(sig)
    output = show.communicate(timeout=EXIT_TIMEOUT_S)[0].decode()
    assert show.returncode == 0, output  # a stopped show is a finished show (docs/engine.md)
    assert "wrote out.mid" in output

    midi = mido.MidiFile(tmp_path / "out.mid")
    assert midi.length < 20  # stopped, not played to its end (40 bars at 120 bpm)
    sounding: dict[tuple[int, int], int] = defaultdict(int)
    controls: dict[int, set[tuple[int, int]]] = defaultdict(set)
    channels = set()
    for message in mido.merge_tracks(midi.tracks):
        if message.type == "note_on" and message.velocity > 0:
            sounding[(message.channel, message.note)] += 1
            channels.add(message.channel)
        elif message.type in ("note_off", "note_on"):
            sounding[(message.channel, message.note)] -= 1
        elif message.type == "control_change":
            controls[message.channel].add((message.control, message.value))
    assert channels and all(count == 0 for count in sounding.values()), dict(sounding)
    for channel in channels:
        assert {(CC_SUSTAIN, 0), (CC_ALL_NOTES_OFF, 0)} <= controls[channel], (channel, controls[channel])
