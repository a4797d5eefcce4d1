"""Reading a POP909 song folder and choosing its window, on the small songs of `conftest.py` (literal values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import ChordSpan
from encore.training.duet_eval.songs import (
    SongSkipped,
    pop909_folder,
    read_index,
    read_song,
    song_window,
    split_songs,
)
from encore.training.piano.sources import split_of


def test_a_song_is_read_on_its_annotated_beats(pop909: Path) -> None:
    song = read_song(pop909, "001", read_index(pop909)["001"])
    assert (song.bpm, song.measure_beats, song.bar_beats, song.first_bar, song.length_beats) == (120.0, 2, 4, 2.0, 24.0)
    assert song.tracks["MELODY"] == (NoteEvent(11.0, 72, 80, 1.0), NoteEvent(13.0, 74, 80, 2.0), NoteEvent(19.0, 76, 80, 1.0))
    assert song.chords[1] == ChordSpan(10.0, 14.0, "C:maj", frozenset({0, 4, 7}))


def test_the_window_starts_at_the_melodys_first_bar_after_the_seed(pop909: Path) -> None:
    window = song_window(read_song(pop909, "001", (2, 2)), bars=2, seed_bars=1)
    # Bar lines at 2, 6, 10, ...; the melody starts in the bar from 10; the seed is the bar from 6.
    assert (window.start_beats, window.window_beats, window.seed_beats, window.bpm) == (10.0, 8.0, 4.0, 120.0)
    assert window.seed == (NoteEvent(0.0, 48, 80, 1.0), NoteEvent(2.0, 52, 80, 1.0))
    assert window.melody == (NoteEvent(1.0, 72, 80, 1.0), NoteEvent(3.0, 74, 80, 2.0))
    assert window.accompaniment == (NoteEvent(0.0, 55, 80, 2.0), NoteEvent(2.0, 57, 80, 1.0), NoteEvent(4.0, 67, 80, 1.0))
    assert [(c.start, c.end, c.label) for c in window.chords] == [
        (-10.0, 0.0, "N"), (0.0, 4.0, "C:maj"), (4.0, 8.0, "G:maj"), (8.0, 14.0, "A:min")]
    assert window.distribution == {frozenset({0, 4, 7}): 2 / 7, frozenset({7, 11, 2}): 2 / 7, frozenset({9, 0, 4}): 3 / 7}
    later = song_window(read_song(pop909, "001", (2, 2)), bars=1, seed_bars=3)  # three seed bars: no earlier than bar 3
    assert later.start_beats == 14.0 and later.seed_beats == 12.0


@pytest.mark.parametrize(("song", "bars", "reason"), [
    ("002", 2, "tempo changes (2 tempos)"),
    ("003", 2, "metre 2 beats of 3 quavers (only 2/4 and 3/4 are played)"),
    ("001", 4, "shorter than 1 + 4 bars from its melody's first bar"),
])
def test_songs_that_cannot_be_played_say_why(pop909: Path, song: str, bars: int, reason: str) -> None:
    with pytest.raises(SongSkipped) as skipped:
        song_window(read_song(pop909, song, read_index(pop909)[song]), bars=bars, seed_bars=1)
    assert str(skipped.value) == reason


def test_the_split_and_a_missing_data_root(pop909: Path, tmp_path: Path) -> None:
    assert pop909_folder(pop909.parent) == pop909
    assert split_songs(pop909, "test") == [s for s in ("001", "002", "003") if split_of(s) == "test"]
    with pytest.raises(EncoreError) as error:
        pop909_folder(tmp_path / "nowhere")
    assert str(error.value) == (f"no POP909 data under {tmp_path / 'nowhere'} (no pop909/index.csv): "
                                "give --data-root or set ENCORE_DATA")
