"""The 16th-note grid: reading GMD fixture files, writing channel-10 MIDI."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from encore.models.groove.drum_map import DRUM_CHANNEL
from encore.models.groove.grid import (
    DrumLoop,
    GrooveInputError,
    check_four_four,
    drum_loop,
    loop_events,
    loop_to_midi,
    onsets,
    read_midi,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "groove"
FUNK = FIXTURES / "1_funk-groove1_138_beat_4-4.mid"


def test_first_notes_of_a_gmd_file_on_the_grid() -> None:
    midi = read_midi(str(FUNK))
    assert midi.ticks_per_beat == 480  # a 16th note is 120 ticks
    loop = drum_loop([n for n in onsets(midi) if n.channel == DRUM_CHANNEL], midi.ticks_per_beat)
    assert loop.steps == 256  # 16 bars
    # tick 10, kick (36), velocity 64: step 0, 10/120 of a step late
    assert loop.hits[0, 0] == 1 and loop.velocities[0, 0] == pytest.approx(64 / 127)
    assert loop.offsets[0, 0] == pytest.approx(10 / 120)
    # tick 211, kick, velocity 57: step 2, 29 ticks early
    assert loop.hits[2, 0] == 1 and loop.offsets[2, 0] == pytest.approx(-29 / 120)
    # tick 3, crash edge (55) -> crash; tick 7, ride (51) -> ride
    assert loop.hits[0, 7] == 1 and loop.hits[0, 8] == 1
    assert loop.hits[1].sum() == 0 and loop.hits[3].sum() == 0


def test_offsets_lie_within_half_a_step() -> None:
    for path in FIXTURES.glob("*4-4.mid"):
        midi = read_midi(str(path))
        loop = drum_loop(onsets(midi), midi.ticks_per_beat)
        assert np.abs(loop.offsets).max() <= 0.5
        assert set(np.unique(loop.hits)) <= {0.0, 1.0}
        assert (loop.velocities[loop.hits == 0] == 0).all() and (loop.velocities[loop.hits == 1] > 0).all()


def test_three_four_is_refused() -> None:
    midi = read_midi(str(FIXTURES / "16_latin-ando_125_beat_3-4.mid"))
    with pytest.raises(GrooveInputError, match="3/4"):
        check_four_four(midi, "latin")


def test_loop_to_midi_round_trip(tmp_path: Path) -> None:
    hits = np.zeros((32, 9), np.float32)
    velocities = np.zeros_like(hits)
    offsets = np.zeros_like(hits)
    hits[0, 0], velocities[0, 0], offsets[0, 0] = 1, 100 / 127, 0.25
    hits[6, 1], velocities[6, 1], offsets[6, 1] = 1, 64 / 127, -0.5
    path = tmp_path / "out.mid"
    loop_to_midi(DrumLoop(hits, velocities, offsets), bpm=100).save(str(path))
    midi = mido.MidiFile(str(path))
    notes = onsets(midi)
    assert [(n.tick, n.pitch, n.velocity, n.channel) for n in notes] == [(30, 36, 100, 9), (660, 38, 64, 9)]
    back = drum_loop(notes, midi.ticks_per_beat, 32)
    assert np.array_equal(back.hits, hits)
    assert np.allclose(back.offsets, offsets) and np.allclose(back.velocities, velocities)


def test_loop_events_in_beats() -> None:
    hits = np.zeros((32, 9), np.float32)
    velocities = np.zeros_like(hits)
    offsets = np.zeros_like(hits)
    hits[4, 1], velocities[4, 1], offsets[4, 1] = 1, 1.0, -0.2
    hits[0, 2], velocities[0, 2], offsets[0, 2] = 1, 0.5, -0.3  # early on step 0: clamped to beat 0
    events = loop_events(DrumLoop(hits, velocities, offsets))
    assert [(e.onset_beats, e.pitch, e.velocity) for e in events] == [(0.0, 42, 64), (pytest.approx(0.95), 38, 127)]
    assert events[0].duration_beats == 0.125
