"""A performer's notes, timed against the show's clock: what phrase capture (and duet modes) read.

MIDI arrives with a `time.perf_counter()` reading taken in rtmidi's thread. A `ShowClock` (fed the
show's snapshots) turns that into show seconds and beats, so a note is placed where the performer
played it against the music, not where the event loop got round to it. `PerformerInput`
pairs note-ons with their note-offs and hands each finished `PlayedNote` to its subscribers.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from encore.stage.controllers.messages import ControllerMessage

if TYPE_CHECKING:
    from encore.engine.snapshot import ShowSnapshot


@dataclass(frozen=True)
class ShowPosition:
    """A point of the show: seconds from its origin, and beats (quarter notes) from its start."""

    seconds: float
    beats: float


class ShowClock:
    """The show's clock as a surface sees it: `perf_counter` readings to show seconds and beats.

    In a real-time show, show seconds are `perf_counter() - origin`, the origin fixed when the show
    starts. A snapshot taken between two readings `before` and `after` bounds that origin; the clock
    keeps the tightest bounds seen, so every position it gives uses one origin and times compared
    across batches stay consistent (within half the quickest snapshot's duration). Beats are counted
    on from the last snapshot at its tempo (a tempo change falls on a whole beat, and the surface
    observes a snapshot for every batch of messages). Before the show plays, positions are taken
    from the last snapshot alone.
    """

    def __init__(self) -> None:
        self._low = -math.inf
        self._high = math.inf
        self._snapshot: ShowSnapshot | None = None
        self._read_at = 0.0

    def observe(self, snapshot: ShowSnapshot, before: float, after: float) -> None:
        """Take in a snapshot taken between the readings `before` and `after`."""
        self._snapshot, self._read_at = snapshot, (before + after) / 2.0
        if not snapshot.playing or snapshot.show_time_s <= 0.0:
            return
        low, high = before - snapshot.show_time_s, after - snapshot.show_time_s
        if low > self._high or high < self._low:  # not the origin seen so far (a new show): start again
            self._low, self._high = low, high
        else:
            self._low, self._high = max(self._low, low), min(self._high, high)

    def position(self, at: float) -> ShowPosition:
        """Where the show stood at the reading `at` (0, 0 before any snapshot)."""
        snap = self._snapshot
        if snap is None:
            return ShowPosition(0.0, 0.0)
        if math.isfinite(self._low):
            seconds = at - (self._low + self._high) / 2.0
        else:
            seconds = snap.show_time_s + (at - self._read_at)
        return ShowPosition(seconds, snap.beats + (seconds - snap.show_time_s) * snap.tempo_bpm / 60.0)


@dataclass(frozen=True)
class PlayedNote:
    """A note the performer played, from its key going down to its release.

    Attributes:
        channel: MIDI channel, 1-16.
        pitch: MIDI note.
        velocity: Note-on velocity.
        start: Where it started.
        end: Where it was released.
    """

    channel: int
    pitch: int
    velocity: int
    start: ShowPosition
    end: ShowPosition

    @property
    def duration_beats(self) -> float:
        """How long it sounded, in beats."""
        return self.end.beats - self.start.beats


class PerformerInput:
    """Notes from a keyboard, paired on/off and timed in show time. Thread-safe.

    A key struck again while held ends its previous note first; `release_all` ends every held note
    (the input port vanished, or the show ended).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[int, int], tuple[int, ShowPosition]] = {}
        self._listeners: list[Callable[[PlayedNote], None]] = []
        self._quiet_since: float | None = None

    def subscribe(self, listener: Callable[[PlayedNote], None]) -> Callable[[], None]:
        """Call `listener(note)` for every note finished from now on; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def keys_down(self) -> int:
        """How many keys are held now."""
        with self._lock:
            return len(self._held)

    @property
    def quiet_since(self) -> float | None:
        """Show second of the last release while no key is held; None while a key is held or before any note."""
        with self._lock:
            return None if self._held else self._quiet_since

    def feed(self, message: ControllerMessage, at: ShowPosition) -> None:
        """Take a note-on or note-off played at `at` (other messages are ignored)."""
        if message.kind == "note_on":
            self.note_on(message.channel, message.number, message.value, at)
        elif message.kind == "note_off":
            self.note_off(message.channel, message.number, at)

    def note_on(self, channel: int, pitch: int, velocity: int, at: ShowPosition) -> None:
        """A key went down."""
        self.note_off(channel, pitch, at)
        with self._lock:
            self._held[(channel, pitch)] = (velocity, at)

    def note_off(self, channel: int, pitch: int, at: ShowPosition) -> PlayedNote | None:
        """A key was released; the note it ends (None if the key was not held)."""
        with self._lock:
            held = self._held.pop((channel, pitch), None)
            if held is None:
                return None
            self._quiet_since = at.seconds
            listeners = list(self._listeners)
        note = PlayedNote(channel, pitch, held[0], held[1], at)
        for listener in listeners:
            listener(note)
        return note

    def release_all(self, at: ShowPosition) -> list[PlayedNote]:
        """End every held note at `at`."""
        with self._lock:
            keys = list(self._held)
        return [note for channel, pitch in keys if (note := self.note_off(channel, pitch, at)) is not None]
