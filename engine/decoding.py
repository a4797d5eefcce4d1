"""How fast each voice decodes: tokens per second over its recent renders, measured around each render.

The engine reads it for the snapshot and for how far back a change can reach (`encore.engine.horizon`):
a voice re-renders an onset in time only if its measured speed says so.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping

from encore.engine.voices.base import Voice
from encore.models.notes import NoteEvent

DECODE_WINDOW = 16
"""Decoding speed is measured over each voice's last this many renders."""


class DecodeMeter:
    """Each voice's recent renders: tokens decoded and seconds taken.

    Args:
        voices: The show's voices.
        virtual: Renders take no show time (the virtual clock): a re-render is always in time.
    """

    def __init__(self, voices: Mapping[str, Voice], virtual: bool) -> None:
        self.voices = voices
        self.virtual = virtual
        self._renders: dict[str, deque[tuple[int, float]]] = {name: deque(maxlen=DECODE_WINDOW) for name in voices}
        self._totals: dict[str, tuple[int, float]] = {}

    def render(self, voice: Voice, beat: float) -> list[NoteEvent]:
        """`voice.render(beat)`, timed (in the voice's worker thread)."""
        tokens, start = voice.tokens, time.perf_counter()
        notes = voice.render(beat)
        if tokens is not None and voice.tokens is not None and voice.tokens > tokens:
            took = (voice.tokens - tokens, time.perf_counter() - start)
            self._renders[voice.name].append(took)
            total = self._totals.get(voice.name, (0, 0.0))
            self._totals[voice.name] = (total[0] + took[0], total[1] + took[1])
        return notes

    def overall(self) -> dict[str, float]:
        """Tokens per second of every voice that decoded tokens, over all its renders so far."""
        return {name: tokens / seconds for name, (tokens, seconds) in self._totals.items() if seconds > 0}

    def speed(self, name: str) -> float | None:
        """Tokens per second over the voice's recent renders (None if it decodes no tokens)."""
        recent = list(self._renders.get(name, ()))
        seconds = sum(s for _, s in recent)
        if self.voices[name].tokens is None or not recent or seconds <= 0:
            return None
        return sum(t for t, _ in recent) / seconds

    def seconds_per_token(self, voice: Voice) -> float | None:
        """The voice's decoding time per token (None: not measured yet; 0 on the virtual clock)."""
        if self.virtual:
            return 0.0
        speed = self.speed(voice.name)
        return None if speed is None else 1.0 / speed
