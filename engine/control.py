"""The engine's command interface: every control surface (UI, MQTT, MIDI controllers) sends these.

`Engine.submit(command)` is thread-safe and never blocks; commands are applied by the engine between
two renders, and a voice reads new controls between two tokens. When each takes effect:

| command       | takes effect                                                   |
| ------------- | -------------------------------------------------------------- |
| `SetTempo`    | at the next whole beat after the playhead; queued events are re-timed |
| `SetSampling` | at the voice's next token (sounds after the lookahead)         |
| `Mute`/`Solo` | at the next note-on sent                                       |
| `Reseed`      | at the first bar line at or after what the voice has rendered  |
| `SetGroove`   | at the drum voice's next two-bar window rendered (sounds after the lookahead) |
| `Stop`        | now: sounding notes are released, the show ends                |
| `Panic`       | now: queued events are dropped, sounding notes released, the show goes on |
"""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from encore.engine.voices.base import Seed
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig


@dataclass(frozen=True)
class SetTempo:
    """Change the tempo (quarter notes per minute)."""

    bpm: float


@dataclass(frozen=True)
class SetSampling:
    """Change sampling settings (`SamplingConfig` fields) of one voice, or all with `voice=None`.

    None leaves a setting as it is; `changes()` gives the ones set.
    """

    voice: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    repetition_window: int | None = None

    @classmethod
    def to(cls, voice: str | None, sampling: SamplingConfig) -> SetSampling:
        """A command that sets every field to `sampling`'s."""
        return cls(voice, **dataclasses.asdict(sampling))

    def changes(self) -> dict[str, float | int]:
        """The settings this command changes."""
        return {name: getattr(self, name) for name in SAMPLING_FIELDS if getattr(self, name) is not None}


@dataclass(frozen=True)
class Mute:
    """Mute (or unmute) a voice."""

    voice: str
    muted: bool = True


@dataclass(frozen=True)
class Solo:
    """Solo (or unsolo) a voice."""

    voice: str
    soloed: bool = True


@dataclass(frozen=True)
class Reseed:
    """Re-prime a voice with a new seed (a MIDI file or a phrase) at its next bar line."""

    seed: Seed
    voice: str = "piano"


@dataclass(frozen=True)
class SetGroove:
    """Switch what a drum voice plays (`encore.engine.voices.drums.DrumPart`); None leaves a field as it is.

    Attributes:
        mode: `library`, `pattern` or `follow-piano`.
        groove: A library groove name (`funk-102`) or style (`funk`).
        pattern: Drum name to the 16th steps (0-31) it strikes, for `pattern` mode.
        voice: The drum voice.
    """

    mode: str | None = None
    groove: str | None = None
    pattern: Mapping[str, Sequence[int]] | None = None
    voice: str = "drums"


@dataclass(frozen=True)
class Stop:
    """End the show."""


@dataclass(frozen=True)
class Panic:
    """Silence everything now and keep playing what is generated next."""


Command = SetTempo | SetSampling | Mute | Solo | Reseed | SetGroove | Stop | Panic


@dataclass(frozen=True)
class Submitted:
    """A command and the clock reading when it was submitted (for control latency)."""

    command: Command
    at: float


class CommandInbox:
    """Thread-safe inbox: any thread submits, the engine drains.

    Args:
        now: The clock stamped on each submission.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._queue: queue.SimpleQueue[Submitted] = queue.SimpleQueue()

    def submit(self, command: Command) -> None:
        """Queue a command; never blocks."""
        self._queue.put(Submitted(command, self._now()))

    def drain(self) -> list[Submitted]:
        """Every command submitted so far, oldest first."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
