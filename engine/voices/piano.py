"""The piano voice: samples the piano transformer token by token and maps its notes onto show beats.

The stream keeps one rolling KV cache for the whole show; a new seed is primed into that same
stream (`PianoStream.prime_midi`), never a restart. The stream counts beats from its own start; the
voice adds an offset fixed at each prime, so the stream's next note lands on the show beat wanted.

The voice is revisable: the stream remembers its last `rewind_tokens` steps, and a revision (`revise`,
from the engine's thread) is taken between two tokens, rewinding the stream to the first remembered
step at or after the beat asked (`PianoStream.rewind_to`); the render then returns at once, so the
engine hears about it without waiting for a whole chunk. A later duet mode enters the same way:
`revise(from_beat)` before feeding a performer's notes.
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
    from encore.engine.voices.originality import OriginalityGuard
    from encore.models.piano.stream import PianoStream

log = logging.getLogger(__name__)

MAX_TOKENS_PER_RENDER = 4096
REWIND_TOKENS = 512
"""Steps the stream remembers for rewinds: a bar and a beat of a dense piece is about 150 tokens."""
TOKENS_PER_NOTE = 3
"""A note is `Pitch Velocity Duration` after its onset's Position (`streaming_decoder`)."""


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
        rewind_tokens: How many steps back a revision can reach (0: the voice cannot revise).
        guard: Checks every render against the training corpus before it can sound (None: no check;
            `encore.engine.voices.originality`).

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
        rewind_tokens: int = REWIND_TOKENS,
        guard: OriginalityGuard | None = None,
    ) -> None:
        super().__init__(name, channel, program, sampling)
        self.stream = stream
        self.max_tokens_per_render = max_tokens_per_render
        self.revisable = rewind_tokens > 0
        if self.revisable:
            stream.enable_rewind(rewind_tokens)
        self.tokens = 0
        self._offset = 0.0
        self._heard: list[NoteEvent] = []  # a performer's notes waiting for the next revision (duet)
        self.guard = guard
        self._prime(seed, 0.0)

    @property
    def position_beats(self) -> float:
        """Show beat the stream has generated up to."""
        return self._offset + self.stream.position_beats

    def render_until(self, beat: float) -> list[NoteEvent]:
        """`_sample_until(beat)`, reviewed by the originality guard: where a passage matches a training
        piece, the voice revises itself from the onset where it matched (the next render takes it)."""
        notes = self._sample_until(beat)
        if self.guard is not None and (matched := self.guard.review(notes, self.position_beats)) is not None:
            self.revise(matched)
        return notes

    def _sample_until(self, beat: float) -> list[NoteEvent]:
        """Sample tokens until the stream reaches `beat`, re-priming at a pending seed's bar line; with a
        revision taken (here between two tokens, or by `render` before), return once the first onset
        sampled after it is complete (every note starting there: the stream has moved past it): the
        engine is waiting for those notes, and the rest of the stretch follows in the next renders."""
        notes: list[NoteEvent] = []
        answers_from = 0  # notes from this index on were sampled after the latest revision taken
        for _ in range(self.max_tokens_per_render):
            if self.revision_pending:
                void = self._apply_revision()
                notes = notes if void is None else [note for note in notes if note.onset_beats < void]
                answers_from = len(notes)
            if self.answer_pending and len(notes) > answers_from and self.stream.past_last_onset:
                return notes
            pending = self.pending_seed  # read before the revision flag: `revise` sets them the other way round
            if pending is not None and self.position_beats >= pending.at_beat and not self.revision_pending:
                notes = [note for note in notes if note.onset_beats < pending.at_beat]
                self._prime(pending.seed, pending.at_beat)
                self.pending_seed = None
            if self.position_beats >= beat and not self.stream.awaiting_note:
                return notes  # never between a Position and its note: a render ending there would bring it a render late
            # A swap between tokens (the stream reads it per step); hotter while the guard has an onset rendered again.
            self.stream.sampling = self.sampling if self.guard is None else self.guard.sampling(self.sampling,
                                                                                                self.position_beats)
            offset = self._offset
            notes.extend(replace(note, onset_beats=note.onset_beats + offset) for note in self.stream.step())
            self.tokens += 1
        log.warning("piano voice: %d tokens without reaching beat %.2f", self.max_tokens_per_render, beat)
        return notes

    def answer_tokens(self, notes: int) -> int | None:
        """Pitch, Velocity and Duration per note, and the next Position; None while a performer's notes wait
        to be laid in (that replay costs a forward pass more)."""
        with self._requests:
            return None if self._heard else TOKENS_PER_NOTE * notes + 1

    def rewind(self, beat: float) -> float | None:
        """Rewind the stream to its first remembered step at or after show beat `beat` (worker thread).

        A seed waiting for a bar line the rewind reached is primed there and then, at the beat rewound to
        (the bar line, when the stream's bars fall on the show's; later if its bars run otherwise, so it
        never overlaps the notes kept before).
        """
        offset = self._offset
        rewound = self._rewind_stream(beat - offset) if self.revisable else None
        if rewound is None:
            return None
        if self.guard is not None:
            self.guard.forget_from(rewound + offset)
        pending = self.pending_seed
        if pending is not None and rewound + offset >= pending.at_beat:
            self._prime(pending.seed, rewound + offset)
            self.pending_seed = None
        return rewound + offset

    def report_line(self) -> str | None:
        """The originality guard's counts, for the show's summary."""
        return None if self.guard is None else self.guard.state().summary()

    def hear(self, note: NoteEvent) -> None:
        """A performer's note (show beats) for the context, laid in at the next revision (duet; any thread)."""
        with self._requests:
            self._heard.append(note)

    def _rewind_stream(self, beat: float) -> float | None:
        """`PianoStream.rewind_to(beat)` (stream beats); with a performer's notes heard, back to where they
        were played, laying them into the context there (`encore.models.piano.duet.insert_notes`)."""
        from encore.models.piano.duet import insert_notes

        with self._requests:
            heard, self._heard = self._heard, []
        if not heard:
            return self.stream.rewind_to(beat)
        offset = self._offset
        return insert_notes(self.stream, [replace(note, onset_beats=note.onset_beats - offset) for note in heard], beat)

    def _prime(self, seed: Seed, at_beat: float) -> None:
        if isinstance(seed, Path):
            self.stream.prime_midi(seed)
        else:
            self.stream.prime_notes(seed)
        self._offset = at_beat - self.stream.position_beats
        self.seed_name = seed_label(seed)
