"""The engine's command interface: what a command is, and all it may read and change of a show.

Every control surface (UI, MQTT, MIDI controllers) sends commands: `Engine.submit(command)` is
thread-safe, never blocks and returns a `CommandTicket` (`encore.engine.results`) that resolves to
`Applied` or `Rejected(reason)`. Each command is declared once, in its module in `encore.engine.commands`:
a frozen dataclass subclassing `Command`, whose class statement names it on the wire and registers it:

    @dataclass(frozen=True)
    class SetTempo(Command, wire="tempo"):
        bpm: float = wire_field("number")        # a field, its JSON kind, required (no default)

        def check_values(self) -> None: ...      # what it says on its own (ranges)
        def check(self, show: ShowControl) -> None: ...   # what depends on the show (the voice exists)
        def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None: ...  # its effect

The wire format (`encore.engine.wire`) finds every command by name (`command_types`: the modules of
`encore.engine.commands`, imported once), and the engine (`encore.engine.applying.Applier`) calls
`check_values` and `check` (at submission and again when applying: the reason is the same text either
way) and `apply` (between two renders). `ShowControl` is everything a command may read and change of a
show: the engine implements it, a test can fake it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from encore.models.errors import EncoreError

if TYPE_CHECKING:
    from encore.engine.clock import MusicalClock
    from encore.engine.event_queue import EventQueue
    from encore.engine.horizon import Horizon
    from encore.engine.latency import Asked, LatencyMarks
    from encore.engine.router import Router
    from encore.engine.sinks.base import Sink
    from encore.engine.voices.base import Voice

WIRE_KINDS = ("number", "int", "bool", "name", "seed", "pattern")
"""What a field is in JSON (`encore.engine.wire` reads and checks each kind)."""
_COMMANDS: dict[str, type[Command]] = {}
COMMANDS_PACKAGE = "encore.engine.commands"
"""Where the commands live, a module each (or a few that belong together)."""
_COMMANDS_FOLDER = Path(__file__).resolve().parent / "commands"


class CommandError(EncoreError, ValueError):
    """A command (or a wire payload) that cannot be applied; the message is one line saying why.

    Any line breaks in the message (a name quoted from a payload) become spaces.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def wire_field(kind: str, default: Any = MISSING) -> Any:
    """A command's field with its JSON kind (`WIRE_KINDS`); without a default it is required on the wire."""
    if kind not in WIRE_KINDS:
        raise ValueError(f"wire kind must be one of {', '.join(WIRE_KINDS)}, got {kind!r}")
    return field(default=default, metadata={"wire": kind})


class Command:
    """Base class of every command; subclasses are frozen dataclasses (see the module docstring).

    Class keyword:
        wire: The command's wire name (`{"command": "tempo", ...}`, an MQTT topic's last part). A class
            without one is not on the wire (a test's own command).
    """

    wire_name: ClassVar[str | None] = None

    def __init_subclass__(cls, wire: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wire_name = wire
        if wire is None:
            return
        known = _COMMANDS.get(wire)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(f"wire name {wire!r} is taken by {known.__module__}.{known.__qualname__}")
        _COMMANDS[wire] = cls

    def check_values(self) -> None:
        """Check what the command says on its own (types, ranges); nothing to check by default.

        Raises:
            CommandError: naming the field and the rule, in one line.
        """

    def check(self, show: ShowControl) -> None:
        """Check the command against `show` (the voice exists and can take it, ...); nothing by default.

        Raises:
            CommandError: why the command cannot be applied, in one line.
        """

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        """Make the change, in the engine's thread between two renders (checked already).

        Args:
            show: What the command may read and change.
            at_beat: The beat a cue or a song's start applies it at; None: submitted, applied now.
            asked: The command and when it was submitted, for control latency.

        Raises:
            CommandError, ValueError or KeyError: why it cannot be applied now (its ticket says so).
        """
        raise NotImplementedError(f"{type(self).__name__}.apply")


def command_types() -> dict[str, type[Command]]:
    """Every command by wire name, in the names' alphabetical order (the first call imports each module of
    `COMMANDS_PACKAGE`, registering its commands)."""
    _import_commands()
    return dict(sorted(_COMMANDS.items()))


@functools.cache
def _import_commands() -> None:
    for module in pkgutil.iter_modules([str(_COMMANDS_FOLDER)]):
        importlib.import_module(f"{COMMANDS_PACKAGE}.{module.name}")


class PerformerControl(Protocol):
    """What the performer's commands change (`encore.engine.performer.Performer`)."""

    def set_mode(self, show: ShowControl, mode: str) -> None:
        """Leave the mode played in and enter `mode`."""

    def note(self, show: ShowControl, pitch: int, velocity: int, beat: float) -> None:
        """A key going down (`velocity` > 0) or up at show `beat`."""

    def respond(self, show: ShowControl) -> None:
        """Call and response: answer the phrase just played."""


class ShowControl(Protocol):
    """All a command (and the performer) may read and change of a running show; the engine implements it.

    Reads: `clock`, `voices`, `live`, `playing`, `sinks`, `show_time()`, `playhead()`, `next_target()`.
    Changes: the voices' settings, the `clock`'s tempo map, the `queue`, the `router`'s mix and notes,
    the `note_log`, the `performer`, revisions (`horizon`), control latency (`latency`), the song
    sounding (`jump`) and the show's end (`end_show`).
    """

    @property
    def clock(self) -> MusicalClock:
        """The tempo map and time signature."""

    @property
    def voices(self) -> Mapping[str, Voice]:
        """Every voice of the show, by name."""

    @property
    def live(self) -> Mapping[str, Voice]:
        """The voices still playing (a voice that raised is stopped)."""

    @property
    def playing(self) -> bool:
        """Between the preroll and the end of the show."""

    @property
    def queue(self) -> EventQueue:
        """The events waiting for the sender."""

    @property
    def router(self) -> Router:
        """Mute, solo, the notes sounding, every output."""

    @property
    def sinks(self) -> Sequence[Sink]:
        """The show's outputs (dropped ones too)."""

    @property
    def note_log(self) -> Sink:
        """The notes sent, per track, for surfaces."""

    @property
    def performer(self) -> PerformerControl:
        """The performer's side of the show."""

    @property
    def horizon(self) -> Horizon:
        """Where a change to a voice is heard from; asks a voice to render again."""

    @property
    def latency(self) -> LatencyMarks:
        """Control latency, from a command's submission to its first note."""

    def show_time(self) -> float:
        """Seconds since the show's origin."""

    def playhead(self) -> float:
        """The beat sounding now."""

    def next_target(self, step: int) -> tuple[int, float]:
        """The song `Next` (step 1) or `Previous` (-1) starts and its bar line.

        Raises:
            CommandError: no setlist, or no song there.
        """

    def jump(self, target: int, bar_line: float) -> list[tuple[float, Command]]:
        """Start song `target` at `bar_line` (later songs follow it); returns its commands due, with their beats."""

    def end_show(self) -> None:
        """End the show at this tick."""
