"""The `encore groove` commands run as subprocesses: one-line errors, valid channel-10 MIDI out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import torch

from encore.models.groove.checkpoint import save_checkpoint
from encore.models.groove.config import GrooveConfig
from encore.models.groove.vae import GrooveVAE

ROOT = Path(__file__).resolve().parents[2]
ENCORE = Path(sys.executable).parent / "encore"
FIXTURES = ROOT / "tests" / "fixtures" / "groove"
FUNK = FIXTURES / "1_funk-groove1_138_beat_4-4.mid"
WALTZ = FIXTURES / "16_latin-ando_125_beat_3-4.mid"


def encore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENCORE), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def write_midi(path: Path, channel: int, notes: bool = True) -> Path:
    """A 4/4 file with (optionally) a few notes on one channel."""
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4)])
    for _ in range(8 if notes else 0):
        track += [mido.Message("note_on", channel=channel, note=60, velocity=80, time=0), mido.Message("note_off", channel=channel, note=60, time=240)]
    midi.tracks.append(track)
    midi.save(str(path))
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small untrained aux checkpoint (the CLI path does not depend on training)."""
    torch.manual_seed(0)
    model = GrooveVAE(GrooveConfig.from_name("aux", encoder_hidden=16, decoder_hidden=32, aux_hidden=16))
    with torch.no_grad():
        model.decoder.out.bias[:9] = 0.5
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt"), {})


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("encore: error: ") and text in result.stderr


def test_bad_inputs_give_one_line_errors(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    piano = write_midi(tmp_path / "piano.mid", channel=0)
    empty = write_midi(tmp_path / "empty.mid", channel=9, notes=False)
    out = str(tmp_path / "out.mid")
    assert_one_line_error(encore("groove", "humanize", str(WALTZ), "--out", out), "3/4")
    assert_one_line_error(encore("groove", "humanize", str(piano), "--out", out), "no notes on channel 10")
    assert_one_line_error(encore("groove", "humanize", str(empty), "--out", out), "empty pattern")
    assert_one_line_error(encore("groove", "humanize", str(corrupt), "--out", out), "not a readable MIDI file")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["groove", "humanize", "missing.mid", "--out", "out.mid"], "no such file"),
        (["groove", "drumify", "empty.mid", "--out", "out.mid"], "empty pattern"),
        (["groove", "humanize", str(FUNK), "--out", "out.mid", "--samples", "0"], "--samples must be at least 1"),
        (["groove", "data", "--data-root", "."], "info.csv: not found"),
        (["groove", "humanize", str(FUNK), "--out", "out.mid", "--model", "."], "not a groove checkpoint"),
    ],
)
def test_more_errors_in_process(args: list[str], text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The same entry point as the console script, called in-process to keep the suite fast."""
    from encore.stage.cli import main

    monkeypatch.chdir(tmp_path)
    write_midi(tmp_path / "empty.mid", channel=9, notes=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("encore: error: ") and text in err and err.count("\n") == 1


def channel_ten_notes(path: Path) -> list[mido.Message]:
    midi = mido.MidiFile(str(path))
    notes = [m for m in midi.tracks[0] if m.type == "note_on" and m.velocity > 0]
    assert notes and all(m.channel == 9 for m in notes)
    assert {m.note for m in notes} <= {36, 38, 42, 46, 43, 47, 50, 49, 51}
    return notes


def test_humanize_and_drumify_write_channel_ten_midi(tmp_path: Path, checkpoint: Path) -> None:
    out = tmp_path / "human.mid"
    result = encore("groove", "humanize", str(FUNK), "--out", str(out), "--model", str(checkpoint), "--samples", "2", "--seed", "3")
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "human_1.mid", tmp_path / "human_2.mid"):
        notes = channel_ten_notes(path)
        source = [m for m in mido.MidiFile(str(FUNK)).tracks[0] if m.type == "note_on" and m.velocity > 0]
        assert len(notes) <= len(source)  # same grid hits (collisions on one class and step merge)
    ticks = np.cumsum([m.time for m in mido.MidiFile(str(tmp_path / "human_1.mid")).tracks[0]])
    assert (ticks % 120 != 0).any()  # microtiming is written as real tick offsets
    tap = write_midi(tmp_path / "tap.mid", channel=0)
    result = encore("groove", "drumify", str(tap), "--out", str(tmp_path / "drums.mid"), "--model", str(checkpoint), "--seed", "1")
    assert result.returncode == 0, result.stderr
    channel_ten_notes(tmp_path / "drums.mid")


def test_data_command_reports_window_counts(tmp_path: Path) -> None:
    result = encore("groove", "data", "--data-root", str(ROOT / "tests" / "fixtures"), "--cache-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "train: 15 windows" in result.stdout and "test: 16 windows" in result.stdout


SHARED_FLAGS = ["--steps", "3", "--batch-size", "8", "--learning-rate", "0.01", "--min-lr-ratio", "0.2",
                "--warmup-steps", "1", "--grad-clip", "0.5", "--eval-every", "2", "--save-every", "4",
                "--max-minutes", "1.5", "--seed", "7", "--threads", "1", "--run-dir", "somewhere"]


@pytest.mark.parametrize("command", [["train", "piano"], ["train", "groove"], ["groove", "train"]])
def test_trainers_share_their_option_names(command: list[str]) -> None:
    """`encore train piano` and `encore train groove` take the shared settings under the same flags."""
    from encore.stage.cli import build_parser
    from encore.stage.cli.train_options import SHARED_OPTIONS

    args = build_parser().parse_args([*command, *SHARED_FLAGS])
    assert {name: getattr(args, name) for name in SHARED_OPTIONS} == {
        "steps": 3, "batch_size": 8, "learning_rate": 0.01, "min_lr_ratio": 0.2, "warmup_steps": 1, "grad_clip": 0.5,
        "eval_every": 2, "save_every": 4, "max_minutes": 1.5, "seed": 7, "threads": 1, "run_dir": Path("somewhere"),
    }
    old = build_parser().parse_args([*command, "--lr", "0.02", "--time-budget-minutes", "none"])
    assert (old.learning_rate, old.max_minutes) == (0.02, None)


def test_bad_training_setting_is_a_one_line_error_naming_its_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from encore.stage.cli import main

    assert main(["train", "groove", "--steps", "0"]) == 2
    assert capsys.readouterr().err == "encore: error: --steps must be at least 1 (got 0)\n"
    assert main(["groove", "train", "--min-lr-ratio", "2"]) == 2
    assert "--min-lr-ratio must be between 0 and 1" in capsys.readouterr().err
    assert main(["train", "piano", "--crop", "1", "--data-root", "missing"]) == 2  # checked before any data work
    assert capsys.readouterr().err == "encore: error: --crop must be at least 2 (got 1)\n"
