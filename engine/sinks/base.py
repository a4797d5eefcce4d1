"""The sink boundary: one override point (`_send`), and the in-memory twin used in tests."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.midi import MidiEvent


@dataclass(frozen=True)
class SinkStatus:
    """What a surface shows about one output.

    Attributes:
        name: The sink's name.
        kind: `midi`, `audio`, `wav`, `recorder`, `memory`, ...
        state: `open`, `closed` or (set by the engine) `dropped`.
        detail: A port, a file, or why it was dropped.
        elapsed_s: Show seconds written so far (recordings and WAV files), else None.
    """

    name: str
    kind: str
    state: str
    detail: str = ""
    elapsed_s: float | None = None


class Sink:
    """Base class of every output. The router calls `send` from one thread at a time.

    Subclasses override `_send` (and `_close`, `reopen` where they hold a device). Meta events (tempo)
    reach `_send` only when `wants_meta` is true: live outputs never see them. System messages (MIDI
    clock) reach it only when `wants_system` is true: only clock outputs see them, never a recording.

    Args:
        name: How failures and listings name this sink.
    """

    wants_meta = False
    wants_system = False
    kind = "sink"

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def send(self, event: MidiEvent) -> None:
        """Emit one event (a no-op after `close`)."""
        if self.closed or (event.is_meta and not self.wants_meta) or (event.is_system and not self.wants_system):
            return
        self._send(event)

    def close(self) -> None:
        """Flush and release the output; further sends are ignored."""
        if not self.closed:
            self.closed = True
            self._close()

    def reopen(self) -> bool:
        """Try to get the output back after a failure; returns whether it can be used again."""
        return False

    def status(self) -> SinkStatus:
        """Its state for a surface; safe to call from any thread. Subclasses add `detail`, `elapsed_s`."""
        return SinkStatus(self.name, self.kind, "closed" if self.closed else "open")

    def _send(self, event: MidiEvent) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release resources; nothing by default."""


class MemorySink(Sink):
    """Keeps every event it is sent, in order: the twin of every real sink in tests."""

    wants_meta = True
    kind = "memory"

    def __init__(self, name: str = "memory") -> None:
        super().__init__(name)
        self.events: list[MidiEvent] = []

    def _send(self, event: MidiEvent) -> None:
        self.events.append(event)
