"""The voice interface: anything that turns a model (or a pattern) into notes in show beats.

A voice is driven by the engine from one worker thread of its own, so a voice never needs locks for
its own state; the sampling settings and a pending re-prime are set from the engine's thread and read by the
voice between two steps of its model (an attribute swap, atomic under the GIL).

To add a voice, subclass `Voice` and implement `render_until` and `position_beats`; override
`reprime` if the voice can take a seed, and `close` if it holds resources:

    class ArpVoice(Voice):
        def render_until(self, beat: float) -> list[NoteEvent]:
            ...  # decode until self.position_beats >= beat, reading self.sampling between steps

The engine calls `render` (never `render_until` directly): it renders, then publishes the notes to
the voice's `tap` when one is set, so another voice can listen (`encore.engine.voices.note_tap`; the drum voice
following the piano).

**Revisions** (the revisable lookahead, docs/engine.md): a voice whose `revisable` is true can take back
what it rendered. `revise(from_beat)` (any thread) asks it to render again from `from_beat` under its
current settings; the worker thread takes the request in `render` (the piano between two tokens too),
calls `rewind(from_beat)` and notes the beat from which the notes it returned before are void; the
engine collects that with `take_void` after each render and unqueues them. The engine is then waiting
for the notes rendered again: `answer_pending` says so until a render has returned one, and a voice
that renders step by step (the piano) returns once its first onset is complete (every note starting
there) instead of at the beat asked. To make a voice revisable, set `revisable = True` and implement
`rewind`; a voice that can say how many steps a re-render of one onset takes (`answer_tokens`) lets a
change reach back before the commit horizon, to the first of its onsets it can render again in time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from encore.engine.voices.note_tap import NoteTap
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

Seed = Path | Sequence[NoteEvent]
"""A seed: a MIDI file, or a phrase of notes in beats from the phrase's start."""


@dataclass(frozen=True, slots=True)
class PendingSeed:
    """A re-prime the voice applies when its rendering reaches `at_beat` (a bar line)."""

    seed: Seed
    at_beat: float


def seed_label(seed: Seed) -> str:
    """How a surface names a seed: the file's name, or `phrase (N notes)`."""
    return seed.name if isinstance(seed, Path) else f"phrase ({len(seed)} notes)"


class Voice:
    """Base class of every voice.

    Args:
        name: Track name; unique in a show (the recorder writes one track per voice).
        channel: MIDI channel 0-15 the voice plays on.
        program: General MIDI program (0 is the acoustic grand piano).
        sampling: Starting sampling settings (each voice reads the ones it uses).

    Attributes:
        seed_name: What the voice last primed with, for a surface (None if it takes no seed).
        tokens: Tokens decoded so far (None for voices that decode no tokens); the engine derives the
            decoding speed from it.
        key: The key the voice leans to (`SetKey`, `encore.engine.voices.soft_key`), for a surface;
            None: none.
    """

    seed_name: str | None = None
    key: str | None = None
    tokens: int | None = None
    revisable = False

    def __init__(self, name: str, channel: int, program: int = 0, sampling: SamplingConfig | None = None) -> None:
        if not 0 <= channel < 16:
            raise ValueError(f"MIDI channel must be 0-15, got {channel}")
        self.name = name
        self.channel = channel
        self.program = program
        self.sampling = sampling or SamplingConfig()
        self.pending_seed: PendingSeed | None = None
        self.tap: NoteTap | None = None
        self._requests = threading.Lock()
        self._revision: float | None = None  # earliest beat asked and not yet taken by the worker
        self._asked = 0  # revision requests made
        self._taken = 0  # revision requests the worker has taken
        self._void: float | None = None  # notes returned before, from this beat on, are void
        self.answer_pending = False  # a revision was taken and no render has returned a note since

    @property
    def position_beats(self) -> float:
        """Show beat up to which the voice has rendered; notes before it are final."""
        raise NotImplementedError

    def render_until(self, beat: float) -> list[NoteEvent]:
        """Render on until `position_beats >= beat`; return the notes completed, onsets in show beats.

        Called from the voice's worker thread, never from the event loop. May return notes that start
        before `beat` only if they start at or after the previous `position_beats`.
        """
        raise NotImplementedError

    def render(self, beat: float) -> list[NoteEvent]:
        """What the engine calls: a pending revision taken (the rewind), then `render_until(beat)`, then the
        notes published to `tap` (if set)."""
        if self._revision is not None:
            self._apply_revision()
        notes = self.render_until(beat)
        if notes:
            self.answer_pending = False
        if self.tap is not None:
            self.tap.publish(notes, self.position_beats)
        return notes

    def rewind(self, beat: float) -> float | None:
        """Forget what was rendered from the first point at or after `beat` the voice can go back to
        exactly, and render on from there (worker thread; only for `revisable` voices).

        Returns:
            The beat rewound to: the notes returned before that start at or after it are void, the earlier
            ones stand. None when nothing is taken back.
        """
        return None

    def answer_tokens(self, notes: int) -> int | None:
        """How many model steps the voice takes to render again `notes` notes sharing one onset, once
        rewound to that onset (None: it cannot say; a change then waits for the commit horizon)."""
        return None

    def revise(self, from_beat: float, seed: Seed | None = None) -> int:
        """Ask the voice to render again from `from_beat` (and, with `seed`, to re-prime there); any thread.

        Returns:
            The request's number (`take_void` says how many requests the worker has taken).
        """
        with self._requests:
            self._revision = from_beat if self._revision is None else min(self._revision, from_beat)
            self._asked += 1
            if seed is not None:  # after the revision: a worker that sees the seed sees the revision too
                self.pending_seed = PendingSeed(seed, from_beat)
            return self._asked

    @property
    def revision_pending(self) -> bool:
        """Whether a revision was asked and the worker has not taken it yet."""
        return self._revision is not None

    def take_void(self) -> tuple[float | None, int]:
        """For the engine after a render: the beat from which notes returned earlier are void (None if
        none) since the last call, and how many revision requests the worker has taken."""
        with self._requests:
            void, self._void = self._void, None
            return void, self._taken

    def _apply_revision(self) -> float | None:
        """Take the pending revision and rewind (worker thread); returns the beat voided from, if any."""
        with self._requests:
            beat, self._revision, self._taken = self._revision, None, self._asked
        self.answer_pending = True
        void = self.rewind(beat) if beat is not None else None
        if void is not None:
            with self._requests:
                self._void = void if self._void is None else min(self._void, void)
            if self.tap is not None:
                self.tap.retract(void)
        return void

    def report_line(self) -> str | None:
        """A line the show's summary adds for this voice (None: nothing to say)."""
        return None

    def set_sampling(self, **changes: float | int) -> None:
        """Change sampling settings (`SamplingConfig.changed`); the voice picks them up before its next step.

        Raises:
            ValueError: an unknown setting or a value out of range (nothing changes then).
        """
        self.sampling = self.sampling.changed(**changes)

    def reprime(self, seed: Seed, at_beat: float) -> None:
        """Continue from `seed` starting at `at_beat`; notes before `at_beat` continue as they were."""
        self.pending_seed = PendingSeed(seed, at_beat)

    def close(self) -> None:
        """Release what the voice holds (model, threads). The engine calls it once, at the end."""
