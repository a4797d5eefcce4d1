"""The whole evaluation on the small POP909 folder of `conftest.py` with the tiny random piano: songs chosen
and skipped with reasons, the references' literal scores, the report files and the PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encore.training.duet_eval.evaluate import DuetEvalConfig, run_duet_eval, select_windows
from encore.training.duet_eval.runner import PianoChoice


def config(pop909: Path, out: Path, **changes: object) -> DuetEvalConfig:
    settings = {"piano": PianoChoice("tiny", 3), "song_ids": ("001", "002", "003", "004"), "bars": 2, "seed_bars": 1}
    return DuetEvalConfig(pop909.parent, out, **{**settings, **changes})  # type: ignore[arg-type]


def test_songs_that_cannot_be_played_are_skipped_with_their_reason(pop909: Path, tmp_path: Path) -> None:
    windows, skipped = select_windows(config(pop909, tmp_path))
    assert [w.song_id for w in windows] == ["001"]
    assert skipped == {"002": "tempo changes (2 tempos)",
                       "003": "metre 2 beats of 3 quavers (only 2/4 and 3/4 are played)",
                       "004": "not in POP909's index"}
    with pytest.raises(ValueError, match="must be at least 1"):
        config(pop909, tmp_path, bars=0)


def test_the_evaluation_writes_its_tables_and_a_piano_roll(pop909: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    results, _ = run_duet_eval(config(pop909, out), progress=False)
    (song,) = results
    # The real accompaniment, G3 (two beats), A3, G4 over C major then G major: 3 of 4 (beat, note) pairs.
    assert song.parts["real"].chord_tone_rate == 0.75
    assert song.parts["tritone"].chord_tone_rate == 0.0
    assert song.parts["real"].notes_per_s == 0.75  # 3 notes in 4 s
    assert song.runs["duet"]["heard"] == 2 and song.runs["free"]["heard"] == 0
    report = json.loads((out / "summary.json").read_text())
    assert report["summary"]["real"]["chord_tone_rate"] == {"mean": 0.75, "low": 0.75, "high": 0.75, "songs": 1}
    assert report["settings"]["checkpoint"] == "tiny" and list(report["skipped"]) == ["002", "003", "004"]
    table = (out / "summary.md").read_text()
    assert "| the song's real accompaniment | 0.75 | " in table and "Skipped: 002 (tempo changes (2 tempos))" in table
    assert (out / "songs" / "001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
