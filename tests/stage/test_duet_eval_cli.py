"""`encore duet-eval` as a user runs it without the data or with a bad option: one line, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.stage.cli import main


def test_no_data_is_one_line_naming_the_data_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duet-eval", "--checkpoint", "tiny", "--data-root", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error == (f"encore: error: no POP909 data under {tmp_path} (no pop909/index.csv): "
                     "give --data-root or set ENCORE_DATA\n")


def test_a_missing_checkpoint_or_bad_count_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duet-eval", "--checkpoint", str(tmp_path / "none"), "--data-root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"encore: error: {tmp_path / 'none'}: no such checkpoint folder")
    assert main(["duet-eval", "--bars", "0", "--data-root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "encore: error: songs, bars and seed_bars must be at least 1\n"
