"""The piano voice: samples the piano transformer token by token and maps its notes onto show beats.

The stream keeps one rolling KV cache for the whole show; a new seed is primed into that same
stream (`PianoStream.prime_midi`), never a restart. The stream counts beats from its own start; the
voice adds an offset fixed at each prime, so the stream's next note lands on the show beat wanted.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from encore.engine.voices.base import Seed, Voice, seed_label
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

if TYPE_CHECKING:
    from encore.models.piano.stream import PianoStream

log = logging.getLogger(__name__)

MAX_TOKENS_PER_RENDER = 4096


class PianoVoice(Voice):
    """A voice over a `PianoStream`, primed with `seed` so that its first note falls at show beat 0.

    Args:
        stream: The piano stream (its KV cache lives for the whole show).
        seed: A MIDI file or a phrase to prime with.
        name: Track name.
        channel: MIDI channel.
        program: General MIDI program.
        sampling: Starting sampling settings (every field changeable between tokens).
        max_tokens_per_render: A render returns early after this many tokens (a model that does not
            advance time cannot hang the voice; the engine counts the underrun).

    Raises:
        SeedError: if the seed MIDI cannot be read or holds no notes.
    """

    def __init__(
        self,
        stream: PianoStream,
        seed: Seed,
        name: str = "piano",
        channel: int = 0,
        program: int = 0,
        sampling: SamplingConfig | None = None,
        max_tokens_per_render: int = MAX_TOKENS_PER_RENDER,
    ) -> None:
        super().__init__(name, channel, program, sampling)
        self.stream = stream
        self.max_tokens_per_render = max_tokens_per_render
        self.tokens = 0
        self._offset = 0.0
        self._prime(seed, 0.0)

    @property
    def position_beats(self) -> float:
        """Show beat the stream has generated up to."""
        return self._offset + self.stream.position_beats

    def render_until(self, beat: float) -> list[NoteEvent]:
        """Sample tokens until the stream reaches `beat`, re-priming at a pending seed's bar line."""
        notes: list[NoteEvent] = []
        for _ in range(self.max_tokens_per_render):
            pending = self.pending_seed
            if pending is not None and self.position_beats >= pending.at_beat:
                notes = [note for note in notes if note.onset_beats < pending.at_beat]
                self._prime(pending.seed, pending.at_beat)
                self.pending_seed = None
            if self.position_beats >= beat:
                return notes
            self.stream.sampling = self.sampling  # a swap between tokens; the stream reads it per step
            offset = self._offset
            notes.extend(replace(note, onset_beats=note.onset_beats + offset) for note in self.stream.step())
            self.tokens += 1
        log.warning("piano voice: %d tokens without reaching beat %.2f", self.max_tokens_per_render, beat)
        return notes

    def _prime(self, seed: Seed, at_beat: float) -> None:
        if isinstance(seed, Path):
            self.stream.prime_midi(seed)
        else:
            self.stream.prime_notes(seed)
        self._offset = at_beat - self.stream.position_beats
        self.seed_name = seed_label(seed)
