"""The drum voice with the shipped groove checkpoints, on the offline engine (virtual clock, no mocks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mido
import numpy as np
import pytest
from engine_helpers import assert_channels_reset, assert_no_hanging_notes, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.groove import SetGroove
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import (
    WINDOW_BEATS,
    DrumPart,
    DrumVoice,
    find_groove,
    pattern_score,
    tap_groove,
)
from encore.engine.voices.note_tap import NoteTap
from encore.engine.voices.pattern import PatternVoice
from encore.models.errors import EncoreError
from encore.models.groove.drum_map import CLASS_OUTPUT_PITCHES, DRUM_CHANNEL
from encore.models.groove.library import NamedGroove, load_library
from encore.models.groove.model import GrooveModel
from encore.models.notes import NoteEvent

REPO = Path(__file__).resolve().parents[2]
GROOVE_KINDS = ("factorized", "aux", "aux11")  # the models with a groove input
BPM = 120.0


@pytest.fixture(scope="module")
def library() -> dict[str, NamedGroove]:
    return load_library()


def shipped(kind: str) -> GrooveModel:
    """A shipped groove checkpoint (they travel with the repository: a missing one fails the test)."""
    return GrooveModel.load(kind)


@pytest.fixture(scope="module", params=GROOVE_KINDS)
def groove_model(request: pytest.FixtureRequest) -> GrooveModel:
    return shipped(request.param)


def play(voices: list[Voice], seconds: float, on_tick: Callable[[float], None] | None = None) -> tuple[Engine, list[MidiEvent]]:
    sink = MemorySink()
    engine = Engine(voices, [sink], EngineConfig(bpm=BPM), now=VirtualClock(10.0))
    engine.run_offline(seconds, on_tick)
    return engine, sink.events


def steps_of(events: list[MidiEvent], start: float) -> np.ndarray:
    """32 flags: which 16th steps of the two bars from `start` have an onset."""
    flags = np.zeros(32, bool)
    for event in events:
        step = round((event.beat - start) * 4)
        if 0 <= step < 32:
            flags[step] = True
    return flags


def phi(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two binary vectors (0 when either is constant)."""
    if a.all() or not a.any() or b.all() or not b.any():
        return 0.0
    return float(np.corrcoef(a.astype(float), b.astype(float))[0, 1])


# Pure parts ---------------------------------------------------------------------------------------


def test_tap_groove_keeps_the_loudest_onset_per_step_with_its_offset() -> None:
    notes = [NoteEvent(8.0, 60, 64, 1.0), NoteEvent(8.03, 64, 127, 1.0), NoteEvent(9.25, 60, 40, 1.0),
             NoteEvent(15.99, 60, 90, 1.0), NoteEvent(7.0, 60, 90, 1.0)]
    groove = tap_groove(notes, 8.0)
    assert np.flatnonzero(groove[:, 0]).tolist() == [0, 5]  # 15.99 rounds to step 32: the next window
    assert groove[0].tolist() == pytest.approx([1.0, 1.0, 0.12])
    assert groove[5].tolist() == pytest.approx([1.0, 40 / 127, 0.0])


def test_pattern_score_and_part_validation() -> None:
    score = pattern_score(DrumPart("pattern", pattern={"kick": [0, 16], "snare": []}).pattern)
    assert score.shape == (32, 9) and score.sum() == 2 and score[16, 0] == 1
    for bad in ({"cowbell": [1]}, {"kick": [32]}, {"kick": [True]}):
        with pytest.raises(ValueError, match="pattern"):
            DrumPart("pattern", pattern=bad)
    with pytest.raises(ValueError, match="mode"):
        DrumPart("jazz-hands")


def test_find_groove_by_name_or_by_style_nearest_the_tempo(library: dict[str, NamedGroove]) -> None:
    assert find_groove(library, "funk-102", 60).name == "funk-102"
    funk = find_groove(library, "funk", 100)
    assert funk.style == "funk" and all(abs(funk.bpm - 100) <= abs(g.bpm - 100) for g in library.values()
                                        if g.style == "funk")
    with pytest.raises(ValueError, match="groove"):
        find_groove(library, "polka", 100)


def test_note_tap_reads_spans_and_forgets_old_notes() -> None:
    tap = NoteTap(keep_beats=8.0)
    tap.publish([NoteEvent(float(b), 60, 80, 0.5) for b in range(4)], 4.0)
    tap.publish([NoteEvent(float(b), 60, 80, 0.5) for b in range(4, 20)], 20.0)
    assert tap.position_beats == 20.0
    assert [n.onset_beats for n in tap.read(0.0, 14.0)] == [12.0, 13.0]  # older than 20 - 8 are gone
    assert len(tap.read(12.0, 20.0)) == 8


# On the engine ------------------------------------------------------------------------------------


def test_drums_play_gm_pitches_on_channel_10_with_microtiming(groove_model: GrooveModel,
                                                              library: dict[str, NamedGroove]) -> None:
    drums = DrumVoice(groove_model, library, DrumPart("library", "funk-102"), bpm=BPM)
    engine, events = play([drums], 16.0)
    ons = note_ons(events, "drums")
    assert len(ons) > 40
    assert {e.channel for e in events if not e.is_meta} == {DRUM_CHANNEL}  # MIDI channel 10
    assert {e.message[1] for e in ons} <= set(CLASS_OUTPUT_PITCHES)
    assert len({e.message[2] for e in ons}) > 5  # the model's velocities, not one level
    off_grid = [e for e in ons if abs(e.beat * 4 - round(e.beat * 4)) > 0.02]  # > 2 % of a 16th
    assert len(off_grid) > len(ons) / 2, "microtiming: most onsets should be off the 16th grid"
    assert [e.time for e in ons] == pytest.approx([e.beat * 60.0 / BPM for e in ons], abs=1e-9)  # one tempo, no drift
    assert drums.reading is not None and drums.reading.inputs["groove"].shape == (32, 3)
    if groove_model.config.has_aux:
        assert drums.reading.read_back is not None and "groove" in drums.reading.read_back
    else:
        assert drums.reading.read_back is None
    assert_no_hanging_notes(events)
    assert_channels_reset(events, [DRUM_CHANNEL])


@pytest.mark.parametrize("commit_s", [0.1, None])
def test_a_groove_switch_lands_at_the_commit_horizon_or_without_revisions_the_next_window(
        library: dict[str, NamedGroove], commit_s: float | None) -> None:
    drums = DrumVoice(shipped("factorized"), library, DrumPart("library", "rock-117"), bpm=BPM)
    boundary: list[float] = []
    kicks = {"kick": [0, 8, 16, 24]}

    def switch(now: float) -> None:
        if now >= 5.3 and not boundary:
            horizon = (now + commit_s) * BPM / 60.0 if commit_s is not None else drums.position_beats
            boundary.append(horizon)
            engine_ref[0].submit(SetGroove(mode="pattern", pattern=kicks))

    engine_ref: list[Engine] = []
    sink = MemorySink()
    engine = Engine([drums], [sink], EngineConfig(bpm=BPM, commit_s=commit_s), now=VirtualClock(0.0))
    engine_ref.append(engine)
    report = engine.run_offline(20.0, switch)
    ons = note_ons(sink.events)
    at = boundary[0]
    if commit_s is None:
        assert at % WINDOW_BEATS == 0 and at > 5.3 * BPM / 60.0  # not the playhead (beat 10.6): a window line
    else:
        assert at == pytest.approx(10.8)  # 100 ms after the playhead
    before, after = [e for e in ons if e.beat < at], [e for e in ons if e.beat >= at]
    assert {e.message[1] for e in before} > {36}  # the library groove: more than kicks
    assert after and {e.message[1] for e in after} == {36}  # the pattern: only kicks from there on
    assert {round(e.beat * 4) % 32 for e in after} <= {0, 8, 16, 24}
    assert [c.command for c in report.control_latencies] == ["SetGroove"]
    first_kick = min(e.time for e in after)
    assert report.control_latencies[0].seconds == pytest.approx(first_kick - 5.3, abs=0.011)
    assert drums.part.mode == "pattern"
    assert_no_hanging_notes(sink.events)


def test_an_unknown_groove_is_refused_and_the_drums_play_on(library: dict[str, NamedGroove]) -> None:
    drums = DrumVoice(shipped("factorized"), library, bpm=BPM)
    engine_ref: list[Engine] = []

    def switch(now: float) -> None:
        if now == 1.0:
            engine_ref[0].submit(SetGroove(groove="polka"))

    sink = MemorySink()
    engine = Engine([drums], [sink], EngineConfig(bpm=BPM), now=VirtualClock(0.0))
    engine_ref.append(engine)
    report = engine.run_offline(6.0, switch)
    assert drums.part.groove == "rock" and not report.voice_failures and note_ons(sink.events)


def test_a_2_input_model_plays_a_pattern_as_given_and_rests_on_an_empty_one(library: dict[str, NamedGroove]) -> None:
    pattern = {"kick": [0, 10, 16], "snare": [4, 12, 20, 28], "closed_hihat": list(range(0, 32, 2))}
    drums = DrumVoice(shipped("factorized"), library, DrumPart("pattern", "funk", pattern), bpm=BPM)
    _, events = play([drums], 8.0)
    ons = note_ons(events)
    want = {(36, s) for s in pattern["kick"]} | {(38, s) for s in pattern["snare"]}
    want |= {(42, s) for s in pattern["closed_hihat"]}
    assert {(e.message[1], round(e.beat * 4) % 32) for e in ons} == want
    silent = DrumVoice(shipped("baseline"), library, DrumPart("pattern", pattern={"snare": []}), bpm=BPM)
    _, events = play([silent], 8.0)
    assert not note_ons(events)


def test_follow_piano_drums_take_the_piano_onsets_and_feel(library: dict[str, NamedGroove]) -> None:
    """The piano plays eighths laid back (a third of a 16th late) or pushed (as early): the drums
    following it strike with the piano's eighths and lean the same way."""
    lean = 0.35 / 4  # beats
    figures = {"laid back": [i * 0.5 + lean for i in range(8)], "pushed": [i * 0.5 - lean for i in range(1, 9)]}
    model = shipped("factorized")
    offsets: dict[str, float] = {}
    for name, onsets in figures.items():
        piano = PatternVoice("piano", 0, [NoteEvent(b, 60, 100 if i % 2 == 0 else 70, 0.25)
                                          for i, b in enumerate(onsets)], 4.0)
        piano.tap = NoteTap()
        drums = DrumVoice(model, library, DrumPart("follow-piano", "rock"), follow=piano.tap, bpm=BPM, seed=5)
        _, events = play([piano, drums], 32.0)  # 64 beats: the first window falls back, 7 follow
        assert_no_hanging_notes(events)
        followed = [e for e in note_ons(events, "drums") if e.beat >= WINDOW_BEATS]
        piano_steps = steps_of(note_ons(events, "piano"), 0.0)
        windows = [steps_of(followed, start) for start in np.arange(WINDOW_BEATS, 64.0, WINDOW_BEATS)]
        assert np.mean([phi(w, piano_steps) for w in windows]) > 0.3, name
        offsets[name] = float(np.mean([e.beat * 4 - round(e.beat * 4) for e in followed]))
    assert offsets["laid back"] > 0.1 and offsets["pushed"] < -0.1, offsets
    assert offsets["laid back"] - offsets["pushed"] > 0.3, offsets


@pytest.mark.parametrize("kind", GROOVE_KINDS)
def test_follow_piano_drums_follow_a_syncopated_figure(library: dict[str, NamedGroove], kind: str) -> None:
    """The piano loops a 3-3-2 figure on 16ths (two notes per onset): the drums following it strike
    with the figure, not a straight beat (before the lock they played eighths: phi 0.20 with the figure,
    0.72 with straight eighths, docs/groove.md)."""
    half_bar = (0.0, 0.75, 1.5)
    onsets = [start + beat for start in (0.0, 2.0) for beat in half_bar]
    piano = PatternVoice("piano", 0, [NoteEvent(b, pitch, 100 if b == 0 else 80, 0.25)
                                      for b in onsets for pitch in (48, 60)], 4.0)
    piano.tap = NoteTap()
    drums = DrumVoice(shipped(kind), library, DrumPart("follow-piano", "rock"), follow=piano.tap, bpm=BPM, seed=5)
    _, events = play([piano, drums], 32.0)
    assert_no_hanging_notes(events)
    figure = steps_of(note_ons(events, "piano"), 0.0)
    eighths = np.arange(32) % 2 == 0
    windows = [steps_of(note_ons(events, "drums"), start) for start in np.arange(WINDOW_BEATS, 64.0, WINDOW_BEATS)]
    with_figure = np.mean([phi(w, figure) for w in windows])
    with_eighths = np.mean([phi(w, eighths) for w in windows])
    assert with_figure > 0.5 and with_figure > with_eighths + 0.15, (with_figure, with_eighths)


def test_a_failing_drum_model_is_stopped_and_the_piano_plays_on(library: dict[str, NamedGroove]) -> None:
    model = GrooveModel.load("factorized")  # a private copy: the test breaks it
    drums = DrumVoice(model, library, bpm=BPM)
    piano = PatternVoice("piano", 0, [NoteEvent(b, 60, 90, 3.0) for b in (0.0, 2.0)], 4.0)

    def sabotage(now: float) -> None:
        if now == 6.0:
            model.vae.decoder = None  # the next window's decode raises inside the real model

    engine, events = play([piano, drums], 16.0, sabotage)
    report_failures = engine.voice_failures
    assert len(report_failures) == 1 and report_failures[0].startswith("drums: AttributeError")
    assert max(e.beat for e in note_ons(events, "piano")) >= 30.0  # the piano played to the end
    drum_ons = note_ons(events, "drums")
    assert drum_ons and max(e.beat for e in drum_ons) < 16.0 + WINDOW_BEATS
    assert_no_hanging_notes(events)
    assert_channels_reset(events, [0, DRUM_CHANNEL])


# From a setlist -----------------------------------------------------------------------------------

BAND = """
[piano]
checkpoint = "tiny"
[drums]
checkpoint = "factorized"
mode = "follow-piano"
groove = "funk"
[[songs]]
seed = "{seed}"
tempo = 100
bars = 4
"""


def test_a_band_setlist_plays_piano_and_drums_that_follow_it(tmp_path: Path) -> None:
    from encore.engine.setlist import load_setlist
    from encore.engine.show import PlayOptions, build_voices, play

    (tmp_path / "band.toml").write_text(BAND.format(seed=REPO / "setlists" / "seeds" / "pop909_003.mid"))
    setlist = load_setlist(tmp_path / "band.toml")
    piano, drums = build_voices(setlist)
    assert isinstance(drums, DrumVoice) and drums.follow is piano.tap and drums.channel == DRUM_CHANNEL
    assert find_groove(drums.library, "funk", 100).name == "funk-102"  # the style's groove nearest 100 bpm
    report = play(setlist, PlayOptions(headless=True, record=tmp_path / "band.mid", seconds=6.0))
    assert not report.voice_failures
    midi = mido.MidiFile(tmp_path / "band.mid")
    drum_ons = [m for m in mido.merge_tracks(midi.tracks) if m.type == "note_on" and m.velocity > 0 and m.channel == 9]
    assert drum_ons and {m.note for m in drum_ons} <= set(CLASS_OUTPUT_PITCHES)


def test_a_missing_groove_checkpoint_is_one_error(tmp_path: Path) -> None:
    from encore.engine.setlist import load_setlist
    from encore.engine.show import build_voices

    (tmp_path / "drums.toml").write_text('[drums]\ncheckpoint = "nope"\n[[songs]]\nbars = 2\n')
    with pytest.raises(EncoreError, match="drums: nope: no such checkpoint folder"):
        build_voices(load_setlist(tmp_path / "drums.toml"))


def test_the_band_demo_setlist_loads_and_lasts_about_30_s() -> None:
    from encore.engine.setlist import load_setlist

    setlist = load_setlist(REPO / "setlists" / "band.toml")
    assert setlist.piano is not None and setlist.drums is not None and setlist.drums.mode == "follow-piano"
    assert 25 <= setlist.seconds() <= 35
