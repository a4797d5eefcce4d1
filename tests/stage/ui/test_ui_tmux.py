"""`encore play` in a real terminal: a tmux session at 120x40 runs the command with the UI, the test
reads the pane, presses keys, sees tempo and temperature change, quits (confirming), and finds every
note closed in the recording."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ui_helpers import REPO, assert_every_note_closed, digit_lines, write_setlist

START_TIMEOUT_S = 120.0
"""Loading the models and starting the show on a loaded machine."""
STEP_TIMEOUT_S = 30.0


class Tmux:
    """A private tmux server (its own socket) with one session running a command."""

    def __init__(self, command: str, width: int, height: int) -> None:
        self.socket = f"encore-ui-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.run("new-session", "-d", "-s", "show", "-x", str(width), "-y", str(height), command)

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def pane(self) -> str:
        return self.run("capture-pane", "-p", "-t", "show")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "show", *keys)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout_s: float = STEP_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            pane = self.pane()
            if check(pane):
                return pane
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{pane}")
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def tmux_path() -> Iterator[str]:
    path = shutil.which("tmux")
    if path is None:
        pytest.fail("tmux is not installed: install the Debian package tmux (`make test` does)", pytrace=False)
    yield path


def piano_temperature(pane: str) -> str:
    row = next(line for line in pane.splitlines() if line.replace("▶", " ").split()[:2] == ["1", "piano"])
    return row.replace("▶", " ").split()[2]


def test_encore_play_in_tmux_keys_change_the_show_and_quit_leaves_no_note_sounding(tmp_path: Path, tmux_path: str) -> None:
    setlist = write_setlist(tmp_path / "show")
    record, wav, exit_file = tmp_path / "set.mid", tmp_path / "set.wav", tmp_path / "exit"
    command = (f"cd {REPO} && OMP_NUM_THREADS=1 {sys.executable} -m encore.stage.cli play {setlist} "
               f"--record {record} --wav {wav}; echo $? > {exit_file}; sleep 600")
    tmux = Tmux(command, 120, 40)
    try:
        pane = tmux.wait_for(lambda p: "PLAYING" in p and "1 piano" in p, "the UI to show the show playing",
                             START_TIMEOUT_S)
        assert "song 1 intro  ▸ next 2 verse at bar 17" in pane
        assert "audio off" in pane and "recorder set.mid open" in pane and "Esc PANIC" in pane
        before = piano_temperature(pane)
        tmux.keys("T")
        pane = tmux.wait_for(lambda p: "✓ sampling voice=piano temperature=" in p, "the temperature result")
        after = f"{float(before) + 0.05:.2f}"
        tmux.wait_for(lambda p: piano_temperature(p) == after, f"temperature {after} on the piano's row")
        assert digit_lines("120.0")[0] in pane.splitlines()[1]
        tmux.keys("+")
        tmux.wait_for(lambda p: "✓ tempo bpm=122" in p, "the tempo result")
        tmux.wait_for(lambda p: digit_lines("122.0")[1] in p.splitlines()[2], "the large digits at 122.0")
        tmux.keys("q")
        tmux.wait_for(lambda p: "Stop the show and quit?" in p, "the question")
        tmux.keys("y")
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not exit_file.exists() or not exit_file.read_text().strip():
            assert time.monotonic() < deadline, f"encore play did not exit; the pane shows:\n{tmux.pane()}"
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
        pane = tmux.wait_for(lambda p: f"encore: wrote {record}" in p, "the summary after the UI")
        assert "PLAYING" not in pane  # the terminal is back: the UI is gone
    finally:
        tmux.kill()
    assert_every_note_closed(record)
    assert wav.stat().st_size > 44
