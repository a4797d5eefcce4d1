"""Fan-out of sent events to every sink: mute/solo, sounding-note bookkeeping, panic, sink failures.

The router is the one place that knows which notes sound, so it is the one place that guarantees
no hanging notes: every note-on it passes is matched by a note-off in every sink (a re-struck key is
released first, so each sink sees strict on/off alternation per key), and `panic`/`release` end what
sounds with note-offs, sustain off (CC 64 = 0) and All Notes Off (CC 123).

Which note-off ends a key: every audible note-on holds its key for its track until a note-off of that
track and key; the key sounds in the sinks until its last audible hold, of any track, is let go. A
note-on of a muted (or not soloed) track is suppressed, and so is the note-off that ends it: a
track's note-off ends its audible hold on the key if it has one, else one of its suppressed ones.

Sink failure policy: a sink that raises is reported, then `reopen()`ed and sent the event again; if
that fails it is dropped and the show goes on with the other sinks.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from encore.engine.midi import CC_ALL_NOTES_OFF, CC_SUSTAIN, MidiEvent, control_change, note_off
from encore.engine.sinks.base import Sink, SinkStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkFailure:
    """A sink that raised: its name, the error, and whether it was reopened or dropped."""

    sink: str
    error: str
    reopened: bool


class Router:
    """Sends events to sinks. Thread-safe: every method takes the router's lock.

    Args:
        sinks: The outputs, all fed the same events.
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)
        self.failures: list[SinkFailure] = []
        self._lock = threading.Lock()
        self._depth: Counter[tuple[int, int]] = Counter()  # audible holds per key, all tracks
        self._held: Counter[tuple[str, tuple[int, int]]] = Counter()  # audible holds per (track, key)
        self._suppressed: Counter[tuple[str, tuple[int, int]]] = Counter()  # muted holds per (track, key)
        self._channel_track: dict[int, str] = {}
        self._owner: dict[tuple[int, int], str] = {}
        self._muted: set[str] = set()
        self._soloed: set[str] = set()

    def set_muted(self, track: str, muted: bool) -> None:
        """Mute or unmute a track from its next note-on."""
        with self._lock:
            (self._muted.add if muted else self._muted.discard)(track)

    def set_soloed(self, track: str, soloed: bool) -> None:
        """Solo or unsolo a track; while any track is soloed, only soloed tracks sound."""
        with self._lock:
            (self._soloed.add if soloed else self._soloed.discard)(track)

    def mix(self) -> tuple[frozenset[str], frozenset[str]]:
        """The muted and the soloed tracks now (copies, for a snapshot from any thread)."""
        with self._lock:
            return frozenset(self._muted), frozenset(self._soloed)

    def audible(self, track: str) -> bool:
        """Whether note-ons of `track` are passed on now."""
        return track not in self._muted and (not self._soloed or track in self._soloed)

    def sounding(self) -> list[tuple[int, int]]:
        """Keys `(channel, pitch)` that sound now."""
        with self._lock:
            return sorted(key for key, depth in self._depth.items() if depth > 0)

    def dispatch(self, event: MidiEvent) -> bool:
        """Send one event to every sink; returns whether it was sent (not filtered)."""
        with self._lock:
            if event.is_meta or event.is_system:  # no notes: no bookkeeping (sinks filter them)
                self._fan_out(event)
                return True
            key = (event.channel, event.message[1])
            hold = (event.track, key)
            if event.is_note_on:
                if not self.audible(event.track):
                    self._suppressed[hold] += 1
                    return False
                if self._depth[key] > 0:
                    self._fan_out(MidiEvent(event.time, event.beat, note_off(*key), event.track))
                self._depth[key] += 1
                self._held[hold] += 1
                self._owner[key] = event.track
            elif event.is_note_off:
                if self._held[hold] == 0:  # the end of a suppressed note, or of nothing
                    if self._suppressed[hold] > 0:
                        self._suppressed[hold] -= 1
                    return False
                self._held[hold] -= 1
                self._depth[key] -= 1
                if self._depth[key] > 0:
                    return False
            self._channel_track.setdefault(event.channel, event.track)
            self._fan_out(event)
            return True

    def release(self, time: float, beat: float, channels: Sequence[int] | None = None) -> None:
        """End every sounding note (on `channels`, or on all used), then sustain off and All Notes Off.

        Each message is attributed to the track that played the note (or first used the channel).
        """
        with self._lock:
            used = self._channel_track
            wanted = set(used if channels is None else channels)
            for key in sorted(self._depth):
                if key[0] in wanted and self._depth[key] > 0:
                    self._fan_out(MidiEvent(time, beat, note_off(*key), self._owner[key]))
                    del self._depth[key]
            for hold in [hold for hold in self._held if hold[1][0] in wanted]:
                del self._held[hold]
            for channel in sorted(wanted & used.keys()):
                self._fan_out(MidiEvent(time, beat, control_change(channel, CC_SUSTAIN, 0), used[channel]))
                self._fan_out(MidiEvent(time, beat, control_change(channel, CC_ALL_NOTES_OFF, 0), used[channel]))

    def status(self, sinks: Sequence[Sink]) -> tuple[SinkStatus, ...]:
        """The status of each of `sinks`; one the router dropped says so, with its last error."""
        present = set(map(id, self.sinks))
        dropped = {failure.sink: failure.error for failure in list(self.failures) if not failure.reopened}
        return tuple(SinkStatus(sink.name, sink.kind, "dropped", dropped[sink.name])
                     if sink.name in dropped and id(sink) not in present else sink.status()
                     for sink in sinks)

    def close(self) -> None:
        """Close every sink; a sink failing to close is reported, the others still close."""
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.close()
                except Exception as error:  # one sink must not keep the others open
                    self._report(sink, error, reopened=False)
            self.sinks.clear()

    def _fan_out(self, event: MidiEvent) -> None:
        for sink in list(self.sinks):
            try:
                sink.send(event)
            except Exception as error:  # any sink error is reported, never fatal
                reopened = _reopen_and_resend(sink, event)
                if not reopened:
                    self.sinks.remove(sink)
                self._report(sink, error, reopened)

    def _report(self, sink: Sink, error: Exception, reopened: bool) -> None:
        failure = SinkFailure(sink.name, f"{type(error).__name__}: {error}", reopened)
        log.warning("sink %s failed (%s); %s", failure.sink, failure.error, "reopened" if reopened else "dropped")
        self.failures.append(failure)


def _reopen_and_resend(sink: Sink, event: MidiEvent) -> bool:
    try:
        if not sink.reopen():
            return False
        sink.send(event)
        return True
    except Exception:  # a failed reopen means the sink is dropped
        return False
