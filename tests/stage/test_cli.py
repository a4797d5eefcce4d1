"""`encore play`, `encore ports` and `encore recover` as a user runs them."""

from __future__ import annotations

import wave
from pathlib import Path

import mido
import pytest

from encore.stage.cli import main


def test_headless_play_writes_midi_and_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setlist = tmp_path / "click.toml"
    setlist.write_text("[click]\n[[songs]]\ntempo = 120\nbars = 2\n")
    code = main(["play", str(setlist), "--headless", "--record", str(tmp_path / "s.mid"), "--wav", str(tmp_path / "s.wav")])
    assert code == 0
    assert "0 underruns" in capsys.readouterr().out
    assert mido.MidiFile(tmp_path / "s.mid").length == pytest.approx(4.0, abs=0.01)
    with wave.open(str(tmp_path / "s.wav")) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(5.0, abs=0.01)


def test_a_bad_setlist_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setlist = tmp_path / "bad.toml"
    setlist.write_text("[click]\n[[songs]]\ntempo = 1000\nbars = 2\n")
    assert main(["play", str(setlist), "--headless"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("encore: error:") and "bad.toml:3: song 1: tempo" in error and "\n" not in error


def test_recover_a_missing_journal_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recover", str(tmp_path / "none.journal"), "--out", str(tmp_path / "x.mid")]) == 2
    assert "cannot read journal" in capsys.readouterr().err


def test_ports_lists_or_says_why_not(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ports", "--midi-api", "alsa"]) == 0
    assert capsys.readouterr().out.startswith("alsa")
