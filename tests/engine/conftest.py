"""Fixtures that start and stop real parts for the engine tests: a JACK server on a dummy driver.

The server runs its cycle with real-time priority where the process may ask for SCHED_FIFO (root, or an
rtprio limit): `--no-realtime`, on a loaded 2-core machine, its 5.3 ms process cycle now and then waits
for the CPU, and a client that misses a cycle loses that cycle's MIDI (a lost clock tick, a lost knob
turn). Elsewhere it runs `--no-realtime`.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

JACK_START_TIMEOUT_S = 10.0
JACK_STOP_TIMEOUT_S = 5.0
JACK_MISSING = "jackd is not installed: install the Debian package jackd2 (`make test` does)"


def realtime_flags() -> list[str]:
    """`--realtime` with a priority where this process may use SCHED_FIFO, else `--no-realtime`."""
    allowed = os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_RTPRIO)[0] > 0
    return ["--realtime", "-P", "70"] if allowed else ["--no-realtime"]


@pytest.fixture(scope="module")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private JACK server (dummy driver, 48 kHz, 256 frames) for this module; yields its name.

    Fails, saying why, where jackd is missing or cannot start: a test that needs the server must not
    pass by skipping. The server gets a name of its own, so parallel runs never share one, and its
    output goes to a log file (a pipe nobody reads could fill and block it) quoted on failure.
    """
    if shutil.which("jackd") is None:
        pytest.fail(JACK_MISSING, pytrace=False)
    try:
        import rtmidi
    except ImportError as error:
        pytest.fail(f"python-rtmidi cannot be imported ({error}): reinstall the project", pytrace=False)

    name = f"encore-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path_factory.mktemp("jack") / "jackd.log"
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    previous = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["jackd", *realtime_flags(), "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopping it stops anything it started
        )
    try:
        os.environ["JACK_DEFAULT_SERVER"] = name
        os.environ["JACK_NO_START_SERVER"] = "1"
        _wait_for_clients(process, name, log_path, rtmidi)
        yield name
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _stop(process)


def _wait_for_clients(process: subprocess.Popen[bytes], name: str, log_path: Path, rtmidi: ModuleType) -> None:
    """Return once the server accepts a client; fail with jackd's last words if it dies or times out."""
    deadline = time.monotonic() + JACK_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"jackd server {name} exited with {process.returncode} before accepting clients: "
                        f"{_tail(log_path)}", pytrace=False)
        try:
            probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "encore-probe")
            probe.delete()
            return
        except (rtmidi.SystemError, rtmidi.RtMidiError):
            if time.monotonic() > deadline:
                pytest.fail(f"jackd server {name} did not accept clients within {JACK_START_TIMEOUT_S} s: "
                            f"{_tail(log_path)}", pytrace=False)
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # the whole group is gone already
            break
        try:
            process.wait(timeout=JACK_STOP_TIMEOUT_S)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _tail(log_path: Path, lines: int = 5) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace").strip() if log_path.exists() else ""
    return " | ".join(text.splitlines()[-lines:]) or "(no output)"
