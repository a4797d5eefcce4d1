"""Offline generation under the originality guard (`encore generate`): a matched passage is sampled again
before anything is written.

The stream is sampled a chunk at a time (`chunk_beats`); after each chunk the guard reviews the onsets it
completed, as it reviews a show's renders (`encore.engine.voices.originality`). Where a passage matches a
training piece the stream rewinds to the onset that completed the match (`PianoStream.rewind_to`), the notes
from there are dropped, and the stream samples that onset again, hotter (`OriginalityGuard.sampling`).
"""

from __future__ import annotations

import math
from typing import Protocol

from encore.engine.voices.originality import OriginalityGuard
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

REWIND_TOKENS = 1024
"""Steps the stream remembers: a chunk of a beat and the onset before it are well within them."""


class RewindableStream(Protocol):
    """What generation reads of a `PianoStream`."""

    sampling: SamplingConfig

    @property
    def position_beats(self) -> float: ...

    def enable_rewind(self, tokens: int) -> None: ...

    def step(self) -> list[NoteEvent]: ...

    def rewind_to(self, beat: float) -> float | None: ...


def generate_guarded(stream: RewindableStream, until_beat: float, guard: OriginalityGuard,
                     chunk_beats: float = 1.0, max_tokens: int = 1_000_000) -> list[NoteEvent]:
    """Step `stream` until it reaches `until_beat` (as `PianoStream.generate_until`), every chunk reviewed by
    `guard`; returns the notes that stand, in stream beats.

    Args:
        stream: A primed stream; its `sampling` is the base the guard heats up while it samples a matched
            onset again (restored at the end).
        until_beat: Stream beat to generate up to.
        guard: The originality guard (off: the stream is sampled straight through, nothing reviewed).
        chunk_beats: Beats sampled between two reviews.
        max_tokens: Steps after which it stops wherever it is (a model that does not advance time).
    """
    base = stream.sampling
    stream.enable_rewind(REWIND_TOKENS)
    notes: list[NoteEvent] = []
    steps = 0
    try:
        while True:
            goal = min(stream.position_beats + chunk_beats, until_beat)
            fresh: list[NoteEvent] = []
            while stream.position_beats < goal and steps < max_tokens:
                stream.sampling = guard.sampling(base, stream.position_beats)
                fresh.extend(stream.step())
                steps += 1
            notes.extend(fresh)
            done = stream.position_beats >= until_beat or steps >= max_tokens  # every note is complete then
            matched = guard.review(fresh, math.inf if done else stream.position_beats)
            back = stream.rewind_to(matched) if matched is not None else None
            if back is not None:
                guard.forget_from(back)
                notes = [note for note in notes if note.onset_beats < back]
            elif done:
                return notes
    finally:
        stream.sampling = base
