"""Checks several commands share: numbers, flags, voice names, finding a voice."""

from __future__ import annotations

import math
from collections.abc import Mapping

from encore.engine.control import CommandError
from encore.engine.voices.base import Voice


def is_number(value: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_flag(name: str, value: object) -> None:
    """`value` is true or false.

    Raises:
        CommandError: naming the field `name`.
    """
    if not isinstance(value, bool):
        raise CommandError(f"{name}: must be true or false")


def check_voice_name(voice: object, optional: bool = False) -> None:
    """`voice` is a non-empty name (or None, if `optional`).

    Raises:
        CommandError: naming what was given.
    """
    if voice is None and optional:
        return
    if not isinstance(voice, str) or not voice:
        raise CommandError(f"voice: must be a voice name, got {voice!r}")


def find_voice(voices: Mapping[str, Voice], name: str) -> Voice:
    """The voice called `name`.

    Raises:
        CommandError: naming the voices there are.
    """
    voice = voices.get(name)
    if voice is None:
        raise CommandError(f"voice: no voice named {name!r} (voices: {', '.join(voices)})")
    return voice
