"""`Mute` and `Solo` (wire `mute`, `solo`): a voice's place in the mix, from the next note-on sent."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.commands.checks import check_flag, check_voice_name, find_voice
from encore.engine.control import Command, ShowControl, wire_field
from encore.engine.latency import Asked


@dataclass(frozen=True)
class Mute(Command, wire="mute"):
    """Mute (or unmute) a voice."""

    voice: str = wire_field("name")
    muted: bool = wire_field("bool", True)

    def check_values(self) -> None:
        check_voice_name(self.voice)
        check_flag("muted", self.muted)

    def check(self, show: ShowControl) -> None:
        find_voice(show.voices, self.voice)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.router.set_muted(show.voices[self.voice].name, self.muted)


@dataclass(frozen=True)
class Solo(Command, wire="solo"):
    """Solo (or unsolo) a voice."""

    voice: str = wire_field("name")
    soloed: bool = wire_field("bool", True)

    def check_values(self) -> None:
        check_voice_name(self.voice)
        check_flag("soloed", self.soloed)

    def check(self, show: ShowControl) -> None:
        find_voice(show.voices, self.voice)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        show.router.set_soloed(show.voices[self.voice].name, self.soloed)
