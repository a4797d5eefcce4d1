"""The piano's originality guard: a copied passage is rendered again before it sounds, and a missing or
broken index never holds a show up."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import assert_no_hanging_notes, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.report import ShowReport
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.originality import OriginalityGuard
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig, ngram_hashes
from encore.models.originality.index import INDEX_FILE, FingerprintIndex
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
    config = FingerprintConfig()
    line = passage_top_line([NoteEvent(i * STEP, p, 80, STEP) for i, p in enumerate(MELODY * 2)])
    hashes, informative = ngram_hashes(line, config)
    return FingerprintIndex.from_hashes([hashes[informative]], ["training/melody"], config)


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


def play(voice: PianoVoice, seconds: float = 20.0) -> tuple[MemorySink, ShowReport, Engine]:
    sink = MemorySink()
    engine = Engine([voice], [sink], EngineConfig(bpm=120.0), now=VirtualClock())
    report = engine.run_offline(seconds)
    assert_no_hanging_notes(sink.events)
    return sink, report, engine


def test_without_the_guard_the_copy_sounds() -> None:
    sink, report, _ = play(PianoVoice(CopyingStream(COOL), SEED, sampling=COOL))
    match = melody_index().match(sounded(sink.events))
    assert match.matched and match.piece == "training/melody" and match.run_notes >= 30
    assert "originality" not in report.summary()


def test_a_copied_passage_is_rendered_again_before_it_sounds() -> None:
    index = melody_index()
    stream = CopyingStream(COOL)
    guard = OriginalityGuard(index)
    flagged: list[float] = []
    review = guard.review

    def spy(notes: Sequence[NoteEvent], complete_before: float) -> float | None:
        beat = review(notes, complete_before)
        if beat is not None:
            flagged.append(beat)
        return beat

    guard.review = spy  # type: ignore[method-assign]
    voice = PianoVoice(stream, SEED, sampling=COOL, guard=guard)
    sink, report, engine = play(voice)
    notes = sounded(sink.events)
    assert not index.match(notes).matched  # no 7 top-line notes of the piece in a row ever sounded
    state = guard.state()
    assert state.rerendered == len(flagged) >= 5 and state.let_through == 0 and state.last_match == "training/melody"
    assert flagged[0] == (index.config.run_notes - 1) * STEP  # the note that completed the first 7-note run
    onsets = [note.onset_beats for note in notes]
    assert len(onsets) == len(set(onsets)) == len(note_ons(sink.events))  # one note per onset: nothing sounded twice
    by_beat = {note.onset_beats: note.pitch for note in notes}
    for beat in flagged:  # every flagged onset sounded as rendered again (a semitone up), never as copied
        if beat in by_beat:
            assert by_beat[beat] == MELODY[round(beat / STEP) % len(MELODY)] + 1
    assert set(flagged) <= set(stream.hot)
    assert report.voice_failures == [] and report.counts.underruns == 0
    assert f"originality guard: {state.rerendered} passages rendered again" in report.summary()
    snapshot = engine.snapshot().voice("piano").originality
    assert snapshot == state and engine.snapshot().to_dict()["voices"][0]["originality"]["rerendered"] == state.rerendered


@pytest.mark.parametrize("broken", ["missing", "garbage"])
def test_a_missing_or_broken_index_is_one_line_and_the_show_plays_on(broken: str, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / INDEX_FILE
    if broken == "garbage":
        path.write_bytes(b"not an index at all")
    with caplog.at_level(logging.WARNING):
        guard = OriginalityGuard.open(path)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == ["originality guard off"]
    assert not guard.on and guard.state().status.startswith("off: ")
    sink, report, engine = play(PianoVoice(CopyingStream(COOL), SEED, sampling=COOL, guard=guard))
    assert report.voice_failures == [] and len(note_ons(sink.events)) == 80  # a note every half beat for 20 s at 120 bpm
    assert "originality guard off: " in report.summary()
    assert engine.snapshot().voice("piano").originality.status.startswith("off: ")


def test_a_check_that_fails_turns_the_guard_off_and_the_show_plays_on(caplog: pytest.LogCaptureFixture) -> None:
    guard = OriginalityGuard(melody_index())

    def broken(*_: object) -> list[object]:
        raise RuntimeError("disk gone")

    guard.index.runs = broken  # type: ignore[union-attr, method-assign]
    with caplog.at_level(logging.WARNING):
        sink, report, _ = play(PianoVoice(CopyingStream(COOL), SEED, sampling=COOL, guard=guard))
    assert [record.getMessage() for record in caplog.records] == [
        "originality guard off: the check failed (RuntimeError: disk gone)"]
    assert report.voice_failures == [] and len(note_ons(sink.events)) == 80
    assert guard.state().status == "off: the check failed (RuntimeError)"


def test_a_show_of_the_shipped_piano_has_the_guard_on() -> None:
    from encore.engine.setlist import PianoSettings
    from encore.engine.show import _originality_guard

    shipped = _originality_guard(PianoSettings(), REPO)
    assert shipped is not None and shipped.on and shipped.state().status == "on"
    assert _originality_guard(PianoSettings(checkpoint="tiny"), REPO) is None


@pytest.mark.slow
def test_the_shipped_piano_primed_with_a_training_file_is_kept_from_copying() -> None:
    """piano-default primed with a POP909 training song at temperature 0.3 plays back 9 top-line notes of a
    training piece within 30 s; with the guard (the shipped index), the onset that completes the first
    7-note run is rendered again before it sounds, and no run of 7 sounds."""
    import torch

    from encore.models.piano.checkpoint import load_piano
    from encore.models.piano.stream import PianoStream
    from encore.models.shipped import resolve_checkpoint

    torch.set_num_threads(1)
    bundle = load_piano(None, device="cpu", int8=False)
    index = FingerprintIndex.load(resolve_checkpoint(None, "piano") / INDEX_FILE)
    song = REPO / "tests" / "fixtures" / "pop909" / "001.mid"  # POP909 001: in the training split
    cool = SamplingConfig(temperature=0.3)
    alone, _, _ = play(PianoVoice(PianoStream(bundle, seed=1), song, sampling=cool), 30.0)
    copied = index.match(sounded(alone.events))
    assert copied.matched, "the control run should play back a training passage"

    guard = OriginalityGuard(index)
    flagged: list[float] = []
    review = guard.review

    def spy(notes: Sequence[NoteEvent], complete_before: float) -> float | None:
        beat = review(notes, complete_before)
        if beat is not None:
            flagged.append(beat)
        return beat

    guard.review = spy  # type: ignore[method-assign]
    guarded, report, _ = play(PianoVoice(PianoStream(bundle, seed=1), song, sampling=cool, guard=guard), 30.0)
    notes = sounded(guarded.events)
    assert guard.state().rerendered >= 1 and guard.state().let_through == 0 and report.voice_failures == []
    assert not index.match(notes).matched
    first = flagged[0]
    control = sounded(alone.events)
    assert [n for n in notes if n.onset_beats < first] == [n for n in control if n.onset_beats < first]
    at_first = lambda played: sorted(n.pitch for n in played if n.onset_beats == first)  # noqa: E731
    assert at_first(notes) != at_first(control)  # the onset that completed the copy sounded rendered again
