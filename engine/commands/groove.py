"""`SetGroove` (wire `groove`): switch what a drum voice plays, from the commit horizon (the drum window
holding it is decoded again)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from encore.engine.commands.checks import check_voice_name, find_voice
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.voices.drums import DEFAULT_GROOVE, DrumPart, DrumVoice


@dataclass(frozen=True)
class SetGroove(Command, wire="groove"):
    """Switch what a drum voice plays (`encore.engine.voices.drums.DrumPart`); None leaves a field as it is.

    Attributes:
        mode: `library`, `pattern` or `follow-piano`.
        groove: A library groove name (`funk-102`) or style (`funk`).
        pattern: Drum name to the 16th steps (0-31) it strikes, for `pattern` mode (kept as a dict of
            tuples, so equal commands compare equal).
        voice: The drum voice.
    """

    mode: str | None = wire_field("name", None)
    groove: str | None = wire_field("name", None)
    pattern: Mapping[str, Sequence[int]] | None = wire_field("pattern", None)
    voice: str = wire_field("name", "drums")

    def __post_init__(self) -> None:
        if isinstance(self.pattern, Mapping):
            object.__setattr__(self, "pattern", {name: tuple(steps) for name, steps in self.pattern.items()})

    def check_values(self) -> None:
        check_voice_name(self.voice)
        if self.groove is not None and (not isinstance(self.groove, str) or not self.groove):
            raise CommandError(f"groove: must be a groove name or style, got {self.groove!r}")
        try:
            DrumPart(self.mode if self.mode is not None else "library", DEFAULT_GROOVE, self.pattern or {})
        except (ValueError, TypeError, AttributeError) as error:
            raise CommandError(f"pattern: must map drum names to 16th steps ({error})"
                               if not isinstance(error, ValueError) else str(error)) from None

    def check(self, show: ShowControl) -> None:
        drums = find_voice(show.voices, self.voice)
        if not isinstance(drums, DrumVoice):
            raise CommandError(f"voice {self.voice} is not a drum voice")
        try:
            drums.check_part(self.mode, self.groove, self.pattern)
        except ValueError as error:
            raise CommandError(str(error)) from None

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        drums = show.voices[self.voice]
        if not isinstance(drums, DrumVoice):
            raise ValueError(f"voice {self.voice} is not a drum voice")
        drums.set_part(self.mode, self.groove, self.pattern)
        show.horizon.changed(drums, asked)
