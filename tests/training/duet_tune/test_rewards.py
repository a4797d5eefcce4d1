"""The duet's rewards on literal notes, and their ranking of a real POP909 accompaniment above the same a
tritone away."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.models.notes import NoteEvent
from encore.training.duet_eval.measures import transpose
from encore.training.duet_eval.songs import pop909_folder, read_index, read_song, song_window
from encore.training.duet_tune.rewards import (
    DuetRewardConfig,
    RealRange,
    beat_alignment,
    density_fit,
    harmony_agreement,
    implied_chord,
    real_range,
    register_fit,
    reward_parts,
    total_reward,
    unison_doubling,
)
from encore.training.paths import default_data_root

C, E, G, A = 60, 64, 67, 69
MELODY = (NoteEvent(0.0, 72, 90, 1.0), NoteEvent(1.0, 76, 90, 1.0),  # C E: C major over beats 0-2
          NoteEvent(2.0, 69, 90, 1.0), NoteEvent(3.0, 72, 90, 1.0))  # A C: A minor over beats 2-4


def note(onset: float, pitch: int, duration: float = 1.0) -> NoteEvent:
    return NoteEvent(onset, pitch, 80, duration)


def test_the_implied_chord_is_the_triad_covering_the_melody() -> None:
    assert implied_chord(MELODY, 0.0, 2.0) == frozenset({0, 4, 7})
    assert implied_chord(MELODY, 2.0, 4.0) == frozenset({9, 0, 4})  # A and C: A minor (its root weighs)
    assert implied_chord(MELODY, 4.0, 6.0) is None
    # D held three beats and F one: D minor covers both and its root weighs most.
    assert implied_chord([note(0.0, 62, 3.0), note(3.0, 65)], 0.0, 4.0) == frozenset({2, 5, 9})


def test_harmony_counts_each_window_a_note_sounds_in() -> None:
    # C over both windows: in C major and in A minor (2 hits); G only in the first (1 hit), B in the second (0).
    notes = [note(0.0, 48, 4.0), note(0.0, 43, 2.0), note(2.0, 47, 2.0)]
    assert harmony_agreement(notes, MELODY, 4.0, 2.0) == pytest.approx(3 / 4)
    assert harmony_agreement(notes, [], 4.0, 2.0) is None


def test_density_is_two_sided() -> None:
    # 8 beats at 120 bpm are 4 s.
    assert density_fit(16, 8.0, 120.0, 3.0, 5.0) == 1.0
    assert density_fit(8, 8.0, 120.0, 3.0, 5.0) == pytest.approx(2.0 / 3.0)
    assert density_fit(40, 8.0, 120.0, 3.0, 5.0) == pytest.approx(0.5)
    assert density_fit(0, 8.0, 120.0, 3.0, 5.0) == 0.0


def test_register_alignment_and_doubling() -> None:
    assert register_fit([note(0, 40), note(0, 50), note(0, 60), note(0, 70)], 45, 65) == 0.5
    assert register_fit([], 45, 65) == 0.0
    # Onsets 0, 0.5, 0.25 and 1.125: two on the eighth grid, 1.125 within 0.05 of no performer onset.
    performer = [note(0.26, 72)]
    assert beat_alignment([note(0.0, C), note(0.5, E), note(0.25, G), note(1.125, C)], performer, 2, 0.05) == 0.75
    # 76 sounds with the melody's 76 (beat 1), 72 at beat 2.5 plays back the C of beat... none: the melody's C
    # at 0 is 2.5 beats before; 69 at 2.5 sounds with the melody's A.
    assert unison_doubling([note(1.5, 76), note(2.5, 72), note(2.5, 69), note(3.0, 60)], MELODY) == 0.5
    assert unison_doubling([note(1.0, 72)], [note(0.0, 72, 0.5)]) == 1.0  # played back from the beat before


def test_the_real_range_and_the_total() -> None:
    real = [note(b * 0.5, p) for b, p in enumerate([48, 52, 55, 60, 64, 67, 72, 76])]
    span = real_range(real, 8.0, 120.0, band=0.25, margin=2)
    assert span == RealRange(1.5, 2.5, 46, 78)
    with pytest.raises(ValueError, match="no notes"):
        real_range([], 8.0, 120.0, 0.2, 2)
    config = DuetRewardConfig(harmony_window_beats=2.0)
    chords = [note(0.0, 48, 2.0), note(0.0, 55, 2.0), note(2.0, 57, 2.0), note(2.0, 52, 2.0)]  # C G, A E
    parts = reward_parts(chords, MELODY, RealRange(1.5, 2.5, 40, 70), 4.0, 120.0, config)
    assert parts == {"harmony": 1.0, "clash": 1.0, "density": 1.0, "register": 1.0, "alignment": 1.0, "doubling": 1.0}
    assert total_reward(parts, config) == pytest.approx(1.0)
    silent = reward_parts([], MELODY, RealRange(1.5, 2.5, 40, 70), 4.0, 120.0, config)
    assert total_reward(silent, config) == pytest.approx((1.0 + 0.25) / 3.5)  # only no clash and no doubling
    with pytest.raises(ValueError, match="weights"):
        DuetRewardConfig(harmony=0, clash=0, density=0, register=0, alignment=0, doubling=0)


@pytest.fixture()
def pop909_data() -> Path:
    folder = default_data_root() / "pop909"
    if not (folder / "index.csv").is_file():
        pytest.skip(f"no POP909 data under {folder.parent}")
    return pop909_folder(folder.parent)


@pytest.mark.parametrize("song_id", ["001", "006", "009"])
def test_a_real_accompaniment_outranks_the_same_a_tritone_away(pop909_data: Path, song_id: str) -> None:
    window = song_window(read_song(pop909_data, song_id, read_index(pop909_data)[song_id]), 8, 4)
    config = DuetRewardConfig()
    span = real_range(window.accompaniment, window.window_beats, window.bpm, config.density_band, config.register_margin)
    melody = [n for n in window.melody if n.onset_beats >= 0]

    def total(notes: list[NoteEvent]) -> float:
        return total_reward(reward_parts(notes, melody, span, window.window_beats, window.bpm, config), config)

    real, shifted = list(window.accompaniment), transpose(window.accompaniment, 6)
    assert total(real) > total(shifted)

    def harmony(notes: list[NoteEvent]) -> float:
        return reward_parts(notes, melody, span, window.window_beats, window.bpm, config)["harmony"]

    assert harmony(real) > harmony(shifted) + 0.2
