"""Shared checks and twins for the engine tests (imported by the test modules beside it)."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from encore.engine.control import Command
from encore.engine.engine import Engine
from encore.engine.midi import CC_ALL_NOTES_OFF, CC_SUSTAIN, CONTROL_CHANGE, MidiEvent
from encore.engine.midi_reading import POLL_S, ArrivalStamp, drain
from encore.engine.sinks.base import Sink
from encore.engine.voices.base import Voice
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent


def eighths(name: str = "pattern", channel: int = 0, pitch: int = 60) -> PatternVoice:
    """A voice playing an eighth note every half beat (a rising four-note figure)."""
    pattern = [NoteEvent(i * 0.5, pitch + i, 90, 0.4) for i in range(4)]
    return PatternVoice(name, channel, pattern, 2.0)


def assert_no_hanging_notes(events: Sequence[MidiEvent]) -> None:
    """Every key alternates on/off strictly, starts with a note-on, and ends released."""
    state: dict[tuple[int, int], bool] = defaultdict(bool)
    for event in events:
        if event.is_note_on:
            key = (event.channel, event.message[1])
            assert not state[key], f"note-on while sounding: {event}"
            state[key] = True
        elif event.is_note_off:
            key = (event.channel, event.message[1])
            assert state[key], f"note-off for a silent key: {event}"
            state[key] = False
    hanging = [key for key, sounding in state.items() if sounding]
    assert not hanging, f"hanging notes: {hanging}"


def assert_channels_reset(events: Sequence[MidiEvent], channels: Sequence[int]) -> None:
    """Sustain off and All Notes Off were sent on every channel in `channels`."""
    for channel in channels:
        controls = {e.message[1] for e in events if e.status == CONTROL_CHANGE and e.channel == channel
                    and e.message[2] == 0}
        assert {CC_SUSTAIN, CC_ALL_NOTES_OFF} <= controls, f"channel {channel} not reset: {controls}"


def note_ons(events: Sequence[MidiEvent], track: str | None = None) -> list[MidiEvent]:
    """The note-ons among `events` (of one track, if given)."""
    return [e for e in events if e.is_note_on and (track is None or e.track == track)]


class FailingVoice(Voice):
    """Plays a note per beat, then raises once rendering passes `fail_at_beat`."""

    def __init__(self, name: str, channel: int, fail_at_beat: float) -> None:
        super().__init__(name, channel)
        self.fail_at_beat = fail_at_beat
        self._position = 0.0

    @property
    def position_beats(self) -> float:
        return self._position

    def render_until(self, beat: float) -> list[NoteEvent]:
        if beat > self.fail_at_beat:
            raise RuntimeError("model blew up")
        start, end = math.ceil(self._position), math.ceil(beat)
        self._position = max(self._position, float(end))
        return [NoteEvent(float(b), 64, 80, 3.0) for b in range(start, end)]


class FailingSink(Sink):
    """Raises on the `fail_on`-th event it is sent; `reopenable` decides whether reopen succeeds."""

    def __init__(self, fail_on: int, reopenable: bool = False) -> None:
        super().__init__("failing")
        self.fail_on = fail_on
        self.reopenable = reopenable
        self.received: list[MidiEvent] = []
        self.reopens = 0

    def _send(self, event: MidiEvent) -> None:
        if len(self.received) + 1 == self.fail_on and self.reopens == 0:
            raise OSError("port vanished")
        self.received.append(event)

    def reopen(self) -> bool:
        self.reopens += 1
        return self.reopenable


def script(engine: Engine, plan: dict[float, Command | Callable[[float], None]]) -> Callable[[float], None]:
    """An on_tick hook: at the first tick at or after each time, submit the command or call the function."""
    pending = sorted(plan.items(), key=lambda item: item[0])

    def hook(now: float) -> None:
        while pending and now >= pending[0][0] - 1e-9:
            action = pending.pop(0)[1]
            action(now) if callable(action) else engine.submit(action)

    return hook


class JackReader:
    """A JACK client with an input port `<client>:in` that keeps every message with its arrival time.

    It polls, as the product's inputs do (`encore.engine.midi_reading`): a Python callback in JACK's
    cycle, waiting for the GIL while the engine runs, can lose messages and repeat others.

    Args:
        client: The JACK client's name.
        timing: Keep MIDI clock messages (ignored otherwise, with SysEx and active sensing).
    """

    def __init__(self, client: str, timing: bool = False) -> None:
        import rtmidi

        self.received: list[tuple[float, list[int]]] = []
        self._handle: Any = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, client)
        self._handle.ignore_types(sysex=True, timing=not timing, active_sense=True)
        self._handle.open_virtual_port("in")
        self._stamp, self._done = ArrivalStamp(), threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def messages(self) -> list[list[int]]:
        """What was received, without the times."""
        return [message for _, message in self.received]

    def _read(self) -> None:
        while not self._done.wait(POLL_S):
            self._take()

    def _take(self) -> None:
        """Keep what RtMidi has queued, as (arrival time, message)."""
        self.received.extend((at, message) for message, at in drain(self._handle, self._stamp, time.perf_counter))

    def close(self) -> None:
        """Stop reading (after what is queued now) and close the port."""
        self._done.set()
        self._thread.join()
        self._take()
        self._handle.close_port()
        self._handle.delete()

    def __enter__(self) -> JackReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
