"""`encore play`, `encore ports` and `encore recover` as a user runs them."""

from __future__ import annotations

import logging
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


GUARDED_SET = """\
[piano]
checkpoint = "default"
[guard]
threshold = 9
[[songs]]
seed = "{seed}"
tempo = 120
bars = 1
"""


@pytest.mark.parametrize(("options", "summary"), [
    ([], "piano: originality guard: "),
    (["--no-guard"], "piano: originality guard off: turned off"),
])
def test_play_turns_the_shipped_pianos_guard_off_with_no_guard(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               options: list[str], summary: str) -> None:
    setlist = tmp_path / "guarded.toml"
    setlist.write_text(GUARDED_SET.format(seed=Path(__file__).resolve().parents[2] / "setlists/seeds/pop909_003.mid"))
    assert main(["play", str(setlist), "--headless", "--record", str(tmp_path / "s.mid"), *options]) == 0
    assert summary in capsys.readouterr().out


def test_a_bad_guard_threshold_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setlist = tmp_path / "click.toml"
    setlist.write_text("[click]\n[[songs]]\nbars = 1\n")
    assert main(["play", str(setlist), "--headless", "--guard-threshold", "65"]) == 2
    assert capsys.readouterr().err == ("encore: error: --guard-threshold: must be 5-64 top-line notes in a row "
                                       "(default: the index's own, 7), got 65\n")


def test_a_checkpoint_without_an_index_is_one_warning_and_the_show_plays_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    from encore.models.piano.checkpoint import PianoBundle, save_piano

    bundle = PianoBundle.random("tiny")
    save_piano(tmp_path / "trained", bundle.model, bundle.tokenizer, "# tiny test model\n")
    setlist = tmp_path / "set.toml"
    setlist.write_text(GUARDED_SET.replace('"default"', '"trained"').format(
        seed=Path(__file__).resolve().parents[2] / "setlists/seeds/pop909_003.mid"))
    with caplog.at_level(logging.WARNING):
        assert main(["play", str(setlist), "--headless", "--record", str(tmp_path / "s.mid")]) == 0
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("originality guard off: ") and "no fingerprint index" in warnings[0]
    out = capsys.readouterr().out
    assert "piano: originality guard off: " in out and mido.MidiFile(tmp_path / "s.mid").length > 0
