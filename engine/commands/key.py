"""`SetKey` (wire `key`): the key the performer plays in; the piano leans to it (a soft key,
`encore.engine.voices.soft_key`) from the onset it can render again in time, like a sampling change."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.commands.checks import check_voice_name, find_voice, is_number
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.voices.piano import PianoVoice
from encore.engine.voices.soft_key import parse_key, set_key, takes_key

DEFAULT_STRENGTH = -2.0
"""Nats added to the logits of the pitches outside the key."""
MIN_STRENGTH = -20.0
"""The strongest bias a command may ask (e^-20: all but forbidden)."""


@dataclass(frozen=True)
class SetKey(Command, wire="key"):
    """Lean a piano voice to a key: `strength` nats on the logits of the pitches outside it.

    Attributes:
        key: A tonic and a mode (`D minor`, `F# major`, `Bb major`), or `off`.
        strength: The bias, from `MIN_STRENGTH` to 0 (0: none).
        voice: The piano voice.
    """

    key: str = wire_field("name")
    strength: float = wire_field("number", DEFAULT_STRENGTH)
    voice: str = wire_field("name", "piano")

    def check_values(self) -> None:
        check_voice_name(self.voice)
        try:
            parse_key(self.key)
        except ValueError as error:
            raise CommandError(f"key: {error}") from None
        if not is_number(self.strength) or not MIN_STRENGTH <= self.strength <= 0:
            raise CommandError(f"strength: must be a number of nats from {MIN_STRENGTH:g} to 0, got {self.strength!r}")

    def check(self, show: ShowControl) -> None:
        if not takes_key(find_voice(show.voices, self.voice)):
            raise CommandError(f"voice {self.voice} takes no key (a piano voice does)")

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        voice = show.voices[self.voice]
        if not isinstance(voice, PianoVoice):
            raise ValueError(f"voice {self.voice} takes no key (a piano voice does)")
        set_key(voice, parse_key(self.key), float(self.strength))
        show.horizon.changed(voice, asked)

