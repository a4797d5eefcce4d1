"""The crash-safe journal: every event sent, one JSON line each, flushed and fsync'd twice a second.

Format (docs/engine.md): the first line is a header object with `"encore_journal": 1`; every other
line is one event `{"t": show seconds, "b": show beat, "tr": track, "m": [MIDI bytes]}`. A process
killed mid-write leaves at most a truncated last line (one without its newline), which `read_journal`
skips; any other line that does not parse is corruption, reported with its line number.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from encore.engine.midi import MidiEvent
from encore.models.errors import EncoreError

JOURNAL_VERSION = 1
FLUSH_INTERVAL_S = 0.25


class JournalError(EncoreError):
    """A journal that cannot be read back."""


@dataclass(frozen=True)
class JournalHeader:
    """What a journal needs besides its events to become a MIDI file.

    Attributes:
        midi_type: 1 (a track per voice) or 0 (one track).
        time_signature: `(numerator, denominator)`.
        ppq: MIDI ticks per quarter note.
        wall_origin: `time.time()` when the journal was opened.
    """

    midi_type: int = 1
    time_signature: tuple[int, int] = (4, 4)
    ppq: int = 480
    wall_origin: float = 0.0


class JournalWriter:
    """Appends events to a journal; a background thread flushes and fsyncs every `flush_interval_s`.

    Args:
        path: The journal file (created or truncated).
        header: Written as the first line.
        flush_interval_s: Longest time an event waits in memory before reaching the disk.
    """

    def __init__(self, path: Path, header: JournalHeader, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._file.write(json.dumps({"encore_journal": JOURNAL_VERSION, **asdict(header)}) + "\n")
        self._sync()
        self._flusher = threading.Thread(target=self._flush_loop, args=(flush_interval_s,), daemon=True,
                                         name="encore-journal")
        self._flusher.start()

    def write(self, event: MidiEvent) -> None:
        """Append one event (buffered; on disk within `flush_interval_s`)."""
        line = json.dumps({"t": round(event.time, 6), "b": round(event.beat, 6), "tr": event.track,
                           "m": list(event.message)}, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._dirty = True

    def close(self) -> None:
        """Flush, fsync and close."""
        self._closed.set()
        self._flusher.join()
        with self._lock:
            self._sync()
            self._file.close()

    def _flush_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            with self._lock:
                if self._dirty:
                    self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._dirty = False


def read_journal(path: Path) -> tuple[JournalHeader, list[MidiEvent]]:
    """The header and every complete event of a journal.

    Every line ends with a newline when it is complete, so only a last line without one (a write cut
    short by a crash) may be skipped, and only if it does not parse.

    Raises:
        JournalError: if the file is missing, has no valid header, or has a corrupt line (the error
            names its line number) other than a truncated last one.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise JournalError(f"cannot read journal {path}: {error.strerror}") from error
    if not text:
        raise JournalError(f"journal {path} is empty")
    lines = text.split("\n")
    truncated = lines[-1] != ""  # the text after the last newline: empty unless a write was cut short
    if not truncated:
        lines.pop()
    try:
        raw = json.loads(lines[0])
        if raw.pop("encore_journal") != JOURNAL_VERSION:
            raise ValueError("unknown version")
        raw["time_signature"] = tuple(raw["time_signature"])
        header = JournalHeader(**raw)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise JournalError(f"{path} is not an encore journal (bad header: {error})") from error
    events = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            item = json.loads(line)
            events.append(MidiEvent(float(item["t"]), float(item["b"]), tuple(int(b) for b in item["m"]), str(item["tr"])))
        except (ValueError, KeyError, TypeError) as error:
            if truncated and number == len(lines):
                break
            raise JournalError(f"journal {path}, line {number}: corrupt ({error})") from error
    return header, events
