"""Helpers for the arena tests: synthetic entries whose quality is known, and a real uvicorn server."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from encore.models.midi_writer import write_notes
from encore.training.challenge.timeline import TimedNote, to_file_beats

C_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def in_key_notes(seconds: float, seed: int) -> list[TimedNote]:
    """A stepwise melody over a chord tone, every note in C major."""
    rng = random.Random(seed)
    notes, at, degree = [], 0.0, 14
    while at < seconds - 0.5:
        degree = max(7, min(24, degree + rng.choice((-2, -1, 1, 2))))
        pitch = 48 + 12 * (degree // 7) + C_MAJOR[degree % 7]
        length = rng.choice((0.25, 0.5, 0.5, 1.0))
        notes.append(TimedNote(at, min(at + length, seconds), pitch, rng.randint(60, 90)))
        if rng.random() < 0.3:
            notes.append(TimedNote(at, min(at + 1.0, seconds), 48 + C_MAJOR[rng.randrange(7)], 55))
        at += length
    return notes


def random_notes(seconds: float, seed: int) -> list[TimedNote]:
    """Random pitches over the whole keyboard at random times."""
    rng = random.Random(seed)
    notes, at = [], 0.0
    while at < seconds - 0.5:
        notes.append(TimedNote(at, min(at + rng.uniform(0.1, 1.0), seconds), rng.randint(21, 108), rng.randint(30, 120)))
        at += rng.uniform(0.05, 0.4)
    return notes


def write_entry_file(path: Path, notes: list[TimedNote]) -> Path:
    """Notes in seconds as a grader-style file (type 0, no tempo, 120 bpm ticks)."""
    write_notes(path, to_file_beats(notes), bpm=None)
    return path


@contextmanager
def serving(app) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the arena server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
