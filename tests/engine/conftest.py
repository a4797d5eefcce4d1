"""Fixtures that start and stop real parts for the engine tests: a JACK server on a dummy driver."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

JACK_START_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def jack_server() -> Iterator[str]:
    """A private JACK server (dummy driver, 48 kHz, 256 frames) for this module; yields its name.

    Skips, saying why, where jackd is missing or cannot start.
    """
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian package jackd2)")
    import rtmidi

    name = f"encore-test-{os.getpid()}"
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    process = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    previous = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        deadline = time.monotonic() + JACK_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.skip(f"jackd could not start: {output.strip().splitlines()[-1:]}")
            try:
                probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "encore-probe")
                probe.delete()
                break
            except (rtmidi.SystemError, rtmidi.RtMidiError):
                if time.monotonic() > deadline:
                    pytest.skip(f"jackd did not accept clients within {JACK_START_TIMEOUT_S} s")
                time.sleep(0.1)
        yield name
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
