"""`encore guard report`: a recording against the training data by the exact check, and what the index says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic

from encore.stage.cli import main
from encore.training.guard.build import build_index
from encore.training.guard.report import report_recording
from encore.training.piano.sources import DEFAULT_SOURCES


@pytest.fixture(scope="module")
def index_file(mini_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(mini_cache, progress=False)[0].save(tmp_path_factory.mktemp("index") / "fingerprints.npz")


def excerpt(source: Path, out: Path, start_beats: float, beats: float, semitones: int = 0) -> Path:
    """A recording holding one passage of `source` (its tempo map kept), moved by `semitones`."""
    score = symusic.Score(source)
    clipped = score.clip(round(start_beats * score.tpq), round((start_beats + beats) * score.tpq), clip_end=True)
    if semitones:
        clipped = clipped.shift_pitch(semitones)
    clipped.dump_midi(str(out))
    return out


def test_a_recording_of_a_training_passage_is_flagged_with_its_source(mini_data_root: Path, index_file: Path,
                                                                       tmp_path: Path) -> None:
    source = mini_data_root / "pop909" / "001" / "001.mid"
    recording = excerpt(source, tmp_path / "copy.mid", 32.0, 48.0)
    report = report_recording(recording, mini_data_root, DEFAULT_SOURCES, 2.5, index_file, progress=False,
                              corpus_cache=tmp_path)
    flagged = [passage for passage in report.passages if passage.flagged]
    assert report.flagged >= 3 and flagged
    assert all(passage.source == str(source) for passage in flagged)
    assert {passage.transposed for passage in flagged} == {False, True}  # both modes see an exact copy
    assert any(passage.guard is not None and "matches pop909/001" in passage.guard for passage in flagged)
    assert any(line.startswith("FLAG") for line in report.lines())


def test_a_transposed_copy_is_flagged_by_contours_only(mini_data_root: Path, tmp_path: Path) -> None:
    recording = excerpt(mini_data_root / "pop909" / "001" / "001.mid", tmp_path / "up3.mid", 32.0, 48.0, 3)
    report = report_recording(recording, mini_data_root, DEFAULT_SOURCES, 2.5, None, progress=False,
                              corpus_cache=tmp_path)
    assert report.flagged and all(passage.transposed for passage in report.passages if passage.flagged)


def test_unrelated_notes_are_clean_and_the_command_exits_0(mini_data_root: Path, index_file: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    score = symusic.Score(480)
    track = symusic.Track(program=0)
    for step, pitch in enumerate(rng.integers(50, 90, 160)):
        track.notes.append(symusic.Note(step * 240, 240, int(pitch), 80))
    score.tracks.append(track)
    score.dump_midi(str(tmp_path / "random.mid"))
    code = main(["guard", "report", str(tmp_path / "random.mid"), "--data-root", str(mini_data_root),
                 "--index", str(index_file), "--cache-dir", str(tmp_path), "--quiet"])
    assert code == 0 and "clean: no chunk comes close" in capsys.readouterr().out


def test_the_command_exits_1_on_a_copy_and_2_without_data(mini_data_root: Path, index_file: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    recording = excerpt(mini_data_root / "pop909" / "001" / "001.mid", tmp_path / "copy.mid", 32.0, 24.0)
    assert main(["guard", "report", str(recording), "--data-root", str(mini_data_root), "--index", str(index_file),
                 "--cache-dir", str(tmp_path), "--quiet"]) == 1
    assert "FLAG" in capsys.readouterr().out
    assert main(["guard", "report", str(recording), "--data-root", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "corpus folder not found" in capsys.readouterr().err
