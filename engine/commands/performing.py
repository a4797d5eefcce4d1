"""The performer's commands (wire `performer`, `note`, `respond`), applied now by `encore.engine.performer`:
how their notes reach the voices, a key going down or up, and call and response's answer."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.commands.checks import is_number
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.performer import MODES, check_mode


@dataclass(frozen=True)
class SetPerformer(Command, wire="performer"):
    """Switch how a performer's notes reach the voices: `off`, `call-response`, `duet` or `drums-follow`."""

    mode: str = wire_field("name")

    def check_values(self) -> None:
        if self.mode not in MODES:
            raise CommandError(f"mode: must be one of {', '.join(MODES)}, got {self.mode!r}")

    def check(self, show: ShowControl) -> None:
        check_mode(self.mode, show.voices, show.horizon.config.commit_s is not None)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.performer.set_mode(show, self.mode)


@dataclass(frozen=True)
class PerformerNote(Command, wire="note"):
    """A performer's key going down (`velocity` > 0) or up (0) at show `beat` (from `--midi-in`)."""

    pitch: int = wire_field("int")
    velocity: int = wire_field("int")
    beat: float = wire_field("number")

    def check_values(self) -> None:
        if not (isinstance(self.pitch, int) and 0 <= self.pitch <= 127):
            raise CommandError("pitch: must be an integer 0-127")
        if not (isinstance(self.velocity, int) and 0 <= self.velocity <= 127):
            raise CommandError("velocity: must be an integer 0-127 (0 releases the key)")
        if not is_number(self.beat):
            raise CommandError("beat: must be a finite number")

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.performer.note(show, self.pitch, self.velocity, self.beat)


@dataclass(frozen=True)
class Respond(Command, wire="respond"):
    """Call and response: the piano continues the phrase the performer just played (a pedal, CC 67)."""

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.performer.respond(show)
