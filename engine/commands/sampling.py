"""`SetSampling` (wire `sampling`): new sampling settings for one voice or all, heard from the onset the
voice can render again in time (`encore.engine.horizon`): what is rendered from there is rendered again."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from encore.engine.commands.checks import check_voice_name, find_voice, is_number
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig


@dataclass(frozen=True)
class SetSampling(Command, wire="sampling"):
    """Change sampling settings (`SamplingConfig` fields) of one voice, or all with `voice=None`.

    None leaves a setting as it is; `changes()` gives the ones set.
    """

    voice: str | None = wire_field("name", None)
    temperature: float | None = wire_field("number", None)
    top_p: float | None = wire_field("number", None)
    min_p: float | None = wire_field("number", None)
    repetition_penalty: float | None = wire_field("number", None)
    repetition_window: int | None = wire_field("int", None)

    @classmethod
    def to(cls, voice: str | None, sampling: SamplingConfig) -> SetSampling:
        """A command that sets every field to `sampling`'s."""
        return cls(voice, **dataclasses.asdict(sampling))

    def changes(self) -> dict[str, float | int]:
        """The settings this command changes."""
        return {name: getattr(self, name) for name in SAMPLING_FIELDS if getattr(self, name) is not None}

    def check_values(self) -> None:
        check_voice_name(self.voice, optional=True)
        for name, value in self.changes().items():
            if not is_number(value) or (name == "repetition_window" and not isinstance(value, int)):
                raise CommandError(f"{name}: must be a number, got {value!r}")
        try:
            SamplingConfig().changed(**self.changes())
        except ValueError as error:
            raise CommandError(str(error)) from None

    def check(self, show: ShowControl) -> None:
        if self.voice is not None:
            find_voice(show.voices, self.voice)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        for voice in [show.voices[self.voice]] if self.voice is not None else show.voices.values():
            voice.set_sampling(**self.changes())
            show.horizon.changed(voice, asked)
