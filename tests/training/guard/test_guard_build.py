"""`encore guard build`: the index of a prepared cache, decoded by the engine's own streaming decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.models.originality.index import FingerprintIndex
from encore.stage.cli import main
from encore.training.guard.build import SplitReader, build_index, cache_data_root, piece_name


@pytest.mark.parametrize("path,expected", [
    ("/data/pop909/001/001.mid", "pop909/001"),
    ("/data/pop909/002/versions/002-v1.mid", "pop909/002"),
    ("/data/piano_midi_de/midis/Chopin/chpn-p7.mid", "piano_midi_de/chpn-p7"),
])
def test_piece_names_fold_versions_into_their_song(path: str, expected: str) -> None:
    assert piece_name(path, Path("/data")) == expected


def test_the_index_holds_each_training_piece_once_and_finds_its_passages(mini_cache: Path) -> None:
    index, stats = build_index(mini_cache, progress=False)
    reader = SplitReader(mini_cache, "train")
    data_root = cache_data_root(mini_cache)
    names = {piece_name(file, data_root) for file in reader.files}
    assert stats.files == len(reader.files) > len(names) == stats.pieces  # 002 and its version: one piece
    assert sorted(names) == index.pieces and stats.keys == len(index)
    for position, file in enumerate(reader.files):
        notes = reader.notes(position)
        middle = notes[len(notes) // 2].onset_beats
        passage = [note for note in notes if middle <= note.onset_beats < middle + 12.0]
        match = index.match(passage)
        assert match.matched and match.piece == piece_name(file, data_root)


def test_held_out_pieces_are_not_in_the_index(mini_cache: Path) -> None:
    index, _ = build_index(mini_cache, progress=False)
    held_out = SplitReader(mini_cache, "test")
    assert len(held_out) > 0
    assert all(piece_name(file, cache_data_root(mini_cache)) not in index.pieces for file in held_out.files)


def test_the_command_writes_the_index_and_says_how_big_it_is(mini_cache: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checkpoint" / "fingerprints.npz"
    assert main(["guard", "build", "--cache", str(mini_cache), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"{out.stat().st_size} bytes on disk" in printed and "loads in" in printed
    assert len(FingerprintIndex.load(out)) == len(build_index(mini_cache, progress=False)[0])


def test_a_cache_without_the_split_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guard", "build", "--cache", str(tmp_path), "--out", str(tmp_path / "f.npz"), "--quiet"]) == 2
    assert "no prepared train split" in capsys.readouterr().err
