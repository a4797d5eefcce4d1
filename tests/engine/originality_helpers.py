"""The originality guard's twins for tests: a stream that plays a training melody by heart, that melody's
index, and what a show sounded (imported by the engine, generation, UI and MQTT tests)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.voices.originality import OriginalityGuard
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig, ngram_hashes
from encore.models.originality.index import FingerprintIndex
from encore.models.originality.melody import passage_top_line
from encore.models.sampling_config import SamplingConfig

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
STEP = 0.5
MELODY = [int(p) for p in np.random.default_rng(7).choice(np.arange(40, 100), 48, replace=False)]
"""The training piece the stream knows by heart: 48 different pitches, one every half beat."""
COOL = SamplingConfig(temperature=0.2)
"""A low temperature: the natural way a model plays back what it learned."""


@dataclass
class CopyingStream:
    """An in-memory twin of `PianoStream` that plays `MELODY` over and over (a note per token, every half
    beat) while it samples cool, and a semitone higher at an onset sampled at temperature 1 or more; it
    remembers every step, so a rewind is exact."""

    sampling: SamplingConfig
    position_beats: float = 0.0
    awaiting_note: bool = False
    past_last_onset: bool = True
    primes: int = 0
    hot: list[float] = field(default_factory=list)

    def enable_rewind(self, tokens: int) -> None:
        assert tokens > 0

    def prime_midi(self, path: Path) -> None:
        self.primes += 1

    def step(self) -> list[NoteEvent]:
        index = round(self.position_beats / STEP)
        pitch = MELODY[index % len(MELODY)]
        if self.sampling.temperature >= 1.0:
            pitch += 1
            self.hot.append(self.position_beats)
        note = NoteEvent(self.position_beats, pitch, 80, STEP)
        self.position_beats += STEP
        return [note]

    def rewind_to(self, beat: float) -> float | None:
        target = math.ceil(beat / STEP - 1e-9) * STEP
        if target > self.position_beats:
            return None
        self.position_beats = target
        return target


def melody_index() -> FingerprintIndex:
    """The index of one training piece: `MELODY`."""
    config = FingerprintConfig()
    line = passage_top_line([NoteEvent(i * STEP, p, 80, STEP) for i, p in enumerate(MELODY * 2)])
    hashes, informative = ngram_hashes(line, config)
    return FingerprintIndex.from_hashes([hashes[informative]], ["training/melody"], config)


def flagged_by(guard: OriginalityGuard) -> list[float]:
    """The onsets `guard` flags from now on, in order (its `review` wrapped)."""
    flagged: list[float] = []
    review = guard.review

    def spy(notes: Sequence[NoteEvent], complete_before: float) -> float | None:
        beat = review(notes, complete_before)
        if beat is not None:
            flagged.append(beat)
        return beat

    guard.review = spy  # type: ignore[method-assign]
    return flagged


def copying_engine(guard: OriginalityGuard | None, sinks: Sequence = ()) -> Engine:
    """An offline engine of one piano voice over a `CopyingStream` sampling cool, with `guard`."""
    voice = PianoVoice(CopyingStream(COOL), SEED, sampling=COOL, guard=guard)
    return Engine([voice], list(sinks), EngineConfig(bpm=120.0), now=VirtualClock())


def sounded(events: Sequence[MidiEvent], track: str = "piano") -> list[NoteEvent]:
    """The notes that sounded (note-on to note-off), in show beats."""
    started: dict[int, MidiEvent] = {}
    notes = []
    for event in events:
        if event.track != track:
            continue
        if event.is_note_on:
            started[event.message[1]] = event
        elif event.is_note_off and event.message[1] in started:
            on = started.pop(event.message[1])
            notes.append(NoteEvent(on.beat, on.message[1], on.message[2], event.beat - on.beat))
    return sorted(notes, key=lambda note: (note.onset_beats, note.pitch))
