"""The piano's originality guard: a copied passage is rendered again before it sounds, and a missing or
broken index never holds a show up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from engine_helpers import assert_no_hanging_notes, note_ons
from originality_helpers import (
    COOL,
    MELODY,
    REPO,
    SEED,
    STEP,
    CopyingStream,
    flagged_by,
    melody_index,
    sounded,
)

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ShowReport
from encore.engine.setlist import PianoSettings, SetlistError, load_setlist
from encore.engine.show import _originality_guard
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.originality import (
    TURNED_OFF,
    GuardSettings,
    GuardTuning,
    OriginalityGuard,
    open_guard,
)
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent
from encore.models.originality.index import INDEX_FILE, FingerprintIndex
from encore.models.sampling_config import SamplingConfig


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
    flagged = flagged_by(guard)
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


def test_a_show_of_the_shipped_piano_has_the_guard_on_unless_its_setlist_turns_it_off(
        caplog: pytest.LogCaptureFixture) -> None:
    shipped = _originality_guard(PianoSettings(), REPO, GuardSettings())
    assert shipped is not None and shipped.on and shipped.state().status == "on" and shipped.min_run == 3
    strict = _originality_guard(PianoSettings(), REPO, GuardSettings(threshold=5))
    assert strict is not None and strict.on and strict.min_run == 1
    with caplog.at_level(logging.WARNING):
        off = _originality_guard(PianoSettings(), REPO, GuardSettings(enabled=False))
    assert off is not None and not off.on and off.state().status == TURNED_OFF and not caplog.records
    assert off.state().summary() == "originality guard off: turned off"
    assert _originality_guard(PianoSettings(checkpoint="tiny"), REPO, GuardSettings()) is None


@pytest.mark.parametrize(("threshold", "first"), [(None, 7), (5, 5), (9, 9), (12, 12)])
def test_the_threshold_is_the_top_line_notes_in_a_row_that_make_a_copy(threshold: int | None, first: int) -> None:
    guard = OriginalityGuard(melody_index(), GuardTuning(threshold=threshold))
    flagged = flagged_by(guard)
    sink, report, _ = play(PianoVoice(CopyingStream(COOL), SEED, sampling=COOL, guard=guard))
    assert flagged[0] == (first - 1) * STEP  # the onset of the first-th note of the piece in a row
    assert guard.state().rerendered == len(flagged) and report.voice_failures == []


@pytest.mark.parametrize(("base", "first"), [(0.0, 1.0), (0.2, 1.0), (1.0, 1.5), (2.0, 3.0)])
def test_a_matched_onset_is_sampled_hotter_than_the_voice_samples(base: float, first: float) -> None:
    """Hotter than the voice's own even above `hot_temperature`: a rewind restores the sampler's state, so
    the voice's own temperature would sample the same copy again."""
    guard = OriginalityGuard(melody_index())
    notes = [NoteEvent(i * STEP, pitch, 80, STEP) for i, pitch in enumerate(MELODY[:8])]
    beat = guard.review(notes, 8 * STEP)
    assert beat == 6 * STEP
    own = SamplingConfig(temperature=base)
    assert guard.sampling(own, beat).temperature == pytest.approx(first)
    assert guard.sampling(own, beat + STEP) == own  # past the onset: the voice's own again
    guard.forget_from(beat)
    assert guard.review(notes[6:], 8 * STEP) == beat  # the same copy once more: hotter still
    assert guard.sampling(own, beat).temperature == pytest.approx(first * 1.5)


def test_the_setlist_guard_table_turns_the_guard_off_or_names_its_threshold(tmp_path: Path) -> None:
    (tmp_path / "set.toml").write_text("[click]\n[[songs]]\nbars = 1\n")
    assert load_setlist(tmp_path / "set.toml").guard == GuardSettings(enabled=True, threshold=None)
    (tmp_path / "set.toml").write_text("[click]\n[guard]\nenabled = false\nthreshold = 9\n[[songs]]\nbars = 1\n")
    assert load_setlist(tmp_path / "set.toml").guard == GuardSettings(enabled=False, threshold=9)
    guard = open_guard(tmp_path, GuardSettings(enabled=False))
    assert not guard.on and guard.state().status == TURNED_OFF


@pytest.mark.parametrize(("table", "message"), [
    ("[guard]\nthreshold = 4\n", ":2: [guard]: threshold must be 5-64 top-line notes in a row (default: the index's own, 7), got 4"),
    ("[guard]\nthreshold = 7.5\n", ":2: [guard]: threshold must be a whole number, got 7.5"),
    ("[guard]\nenabled = 'no'\n", ':2: [guard]: enabled must be true or false, got "no"'),
    ("[guard]\nmin_run = 3\n", ':2: [guard]: unknown field "min_run" (fields: enabled, threshold)'),
])
def test_a_bad_guard_table_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "set.toml"
    path.write_text(f"{table}[click]\n[[songs]]\nbars = 1\n")
    with pytest.raises(SetlistError) as raised:
        load_setlist(path)
    assert str(raised.value) == f"{path}{message}"


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
    flagged = flagged_by(guard)
    guarded, report, _ = play(PianoVoice(PianoStream(bundle, seed=1), song, sampling=cool, guard=guard), 30.0)
    notes = sounded(guarded.events)
    assert guard.state().rerendered >= 1 and guard.state().let_through == 0 and report.voice_failures == []
    assert not index.match(notes).matched
    first = flagged[0]
    control = sounded(alone.events)
    assert [n for n in notes if n.onset_beats < first] == [n for n in control if n.onset_beats < first]
    at_first = lambda played: sorted(n.pitch for n in played if n.onset_beats == first)  # noqa: E731
    assert at_first(notes) != at_first(control)  # the onset that completed the copy sounded rendered again
