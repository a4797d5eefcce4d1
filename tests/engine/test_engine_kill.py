"""A real-time headless show killed with SIGKILL: its journal recovers everything up to a second before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido

from encore.engine.journal import read_journal

REPO = Path(__file__).resolve().parents[2]
CLICK_SETLIST = "[click]\nstep_beats = 0.5\n[[songs]]\ntempo = 120\nbars = 40\n"  # an eighth every 0.25 s
PLAY_BEFORE_KILL_S = 3.0


def encore(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "encore.stage.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_kill_9_mid_show_then_recover(tmp_path: Path) -> None:
    (tmp_path / "click.toml").write_text(CLICK_SETLIST)
    show = encore("play", "click.toml", "--headless", "--realtime", "--record", "set.mid", cwd=tmp_path)
    journal = tmp_path / "set.journal"
    deadline = time.monotonic() + 30
    while not journal.exists() or len(journal.read_text().splitlines()) < 3:
        assert show.poll() is None and time.monotonic() < deadline, show.stdout.read() if show.stdout else ""
        time.sleep(0.05)
    time.sleep(PLAY_BEFORE_KILL_S)
    killed_at = time.time()
    show.send_signal(signal.SIGKILL)
    show.wait()
    assert not (tmp_path / "set.mid").exists()

    recovered = encore("recover", "set.journal", "--out", "recovered.mid", cwd=tmp_path)
    output = recovered.communicate(timeout=60)[0].decode()
    assert recovered.returncode == 0, output
    midi = mido.MidiFile(tmp_path / "recovered.mid")
    ons = [m for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    offs = [m for t in midi.tracks for m in t if m.type == "note_off"]
    header, events = read_journal(journal)
    # The header is stamped before the show starts, so this expects slightly more than the truth.
    played_until = killed_at - header.wall_origin - 1.0
    expected = int(played_until / 0.25) + 1
    assert len(ons) >= expected >= PLAY_BEFORE_KILL_S * 4 - 4, (len(ons), expected)
    assert len(ons) == len(offs)
    assert len(ons) == sum(1 for e in events if e.is_note_on)
