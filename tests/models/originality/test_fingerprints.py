"""The fingerprint index: the top line, transposition-free hashes, runs in one piece, the file format."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import symusic

from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig, ngram_hashes
from encore.models.originality.index import FingerprintIndex, FingerprintIndexError
from encore.models.originality.melody import passage_top_line

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PIECES = {"pop909/001": FIXTURES / "pop909" / "001.mid", "piano_midi_de/chpn-p7": FIXTURES / "piano_midi_de" / "chpn-p7.mid",
          "piano_midi_de/scn15_4": FIXTURES / "piano_midi_de" / "scn15_4.mid"}


def fixture_notes(path: Path) -> list[NoteEvent]:
    """Every note of a fixture file in beats, on an eighth-of-a-beat grid (as the model writes them)."""
    score = symusic.Score(path)
    snap = lambda ticks: round(ticks / score.tpq * 8) / 8  # noqa: E731
    return sorted((NoteEvent(snap(n.time), n.pitch, n.velocity, max(0.125, snap(n.duration)))
                   for track in score.tracks for n in track.notes), key=lambda n: (n.onset_beats, n.pitch))


@pytest.fixture(scope="module")
def index() -> FingerprintIndex:
    config = FingerprintConfig()
    lines = {name: passage_top_line(fixture_notes(path), config.grid_beats) for name, path in PIECES.items()}
    hashes = [ngram_hashes(line, config) for line in lines.values()]
    return FingerprintIndex.from_hashes([h[informative] for h, informative in hashes], list(lines), config)


def passage(name: str, start_beats: float, beats: float, semitones: int = 0, at: float = 0.0) -> list[NoteEvent]:
    """The notes of a fixture starting in [start, start + beats), moved to beat `at` and by `semitones`."""
    return [NoteEvent(n.onset_beats - start_beats + at, n.pitch + semitones, n.velocity, n.duration_beats)
            for n in fixture_notes(PIECES[name]) if start_beats <= n.onset_beats < start_beats + beats]


def test_the_top_line_skips_accompaniment_under_a_held_melody_note() -> None:
    notes = [NoteEvent(0.0, 72, 90, 2.0), NoteEvent(0.0, 48, 60, 0.5), NoteEvent(0.5, 55, 60, 0.5),
             NoteEvent(1.0, 52, 60, 0.5), NoteEvent(2.0, 74, 90, 0.5), NoteEvent(2.5, 50, 60, 0.5),
             NoteEvent(3.0, 76, 90, 1.0)]
    line = passage_top_line(notes)
    assert line.pitch.tolist() == [72, 74, 50, 76]
    assert line.onset_beats.tolist() == [0.0, 2.0, 2.5, 3.0]


def test_onsets_snap_to_the_grid_before_the_top_line() -> None:
    notes = [NoteEvent(0.01, 60, 80, 0.5), NoteEvent(0.49, 64, 80, 0.5), NoteEvent(1.04, 67, 80, 0.5)]
    assert passage_top_line(notes, 0.125).onset_beats.tolist() == [0.0, 0.5, 1.0]


def test_hashes_ignore_transposition_and_where_the_passage_starts() -> None:
    config = FingerprintConfig()
    original = passage_top_line(passage("pop909/001", 32.0, 16.0), config.grid_beats)
    moved = passage_top_line(passage("pop909/001", 32.0, 16.0, semitones=-5, at=100.0), config.grid_beats)
    assert np.array_equal(ngram_hashes(original, config)[0], ngram_hashes(moved, config)[0])
    slower = passage_top_line([NoteEvent(n.onset_beats * 2, n.pitch, n.velocity, n.duration_beats * 2)
                               for n in passage("pop909/001", 32.0, 16.0)], config.grid_beats)
    assert not np.array_equal(ngram_hashes(original, config)[0], ngram_hashes(slower, config)[0])


def test_a_repeated_note_is_not_informative() -> None:
    config = FingerprintConfig(ngram_notes=3)
    line = passage_top_line([NoteEvent(i * 0.5, pitch, 80, 0.5) for i, pitch in enumerate([60, 60, 60, 62, 62])])
    assert ngram_hashes(line, config)[1].tolist() == [False, True, True]


@pytest.mark.parametrize("name", list(PIECES))
def test_a_transposed_copy_matches_its_piece(index: FingerprintIndex, name: str) -> None:
    match = index.match(passage(name, 16.0, 16.0, semitones=3, at=7.0))
    assert match.matched and match.piece == name
    assert match.run_notes >= index.config.run_notes and match.share > 0.5


def test_a_copy_broken_every_few_notes_does_not_match(index: FingerprintIndex) -> None:
    notes = passage("pop909/001", 16.0, 16.0)
    line = passage_top_line(notes, index.config.grid_beats)
    assert index.match(notes).matched
    top = {(float(onset), int(pitch)) for onset, pitch in zip(line.onset_beats, line.pitch, strict=True)}
    broken = [NoteEvent(n.onset_beats, n.pitch + 1 if (n.onset_beats, n.pitch) in top and i % 3 == 0 else n.pitch,
                        n.velocity, n.duration_beats)
              for i, n in enumerate(sorted(notes, key=lambda n: n.onset_beats))]
    assert index.match(broken).run_notes < index.config.run_notes
    assert not index.match(broken).matched


def test_notes_no_piece_holds_do_not_match(index: FingerprintIndex) -> None:
    rng = np.random.default_rng(0)
    notes = [NoteEvent(0.5 * i, int(pitch), 80, 0.5) for i, pitch in enumerate(rng.integers(40, 90, 64))]
    assert not index.match(notes).matched
    assert not index.match([]).matched


def test_save_and_load_give_the_same_index(index: FingerprintIndex, tmp_path: Path) -> None:
    path = index.save(tmp_path / "fingerprints.npz")
    loaded = FingerprintIndex.load(path)
    assert np.array_equal(loaded.keys, index.keys) and loaded.pieces == index.pieces and loaded.config == index.config
    with np.load(path) as data:
        assert sorted(data.files) == ["hash_steps", "meta", "pieces"]  # no notes, no times, no positions
    probe = passage("piano_midi_de/chpn-p7", 8.0, 12.0)
    assert loaded.match(probe) == index.match(probe)


def test_a_missing_or_broken_index_says_so_in_one_error(tmp_path: Path) -> None:
    with pytest.raises(FingerprintIndexError, match="no fingerprint index"):
        FingerprintIndex.load(tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(FingerprintIndexError, match="not a fingerprint index"):
        FingerprintIndex.load(broken)
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("something.npy", b"")
    with pytest.raises(FingerprintIndexError, match="not a fingerprint index"):
        FingerprintIndex.load(other)
