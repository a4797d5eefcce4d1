"""`encore generate` end to end: real seeds continue into valid MIDI; bad seeds get one line, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import pytest

from encore.models.piano.checkpoint import PianoBundle, save_piano

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = PianoBundle.random("tiny")
    return save_piano(tmp_path_factory.mktemp("ckpt") / "tiny", bundle.model, bundle.tokenizer, "# tiny test model\n")


def encore(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "encore.stage.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("seed", ["pop909/001.mid", "piano_midi_de/chpn-p7.mid", "groove/1_funk-groove1_138_beat_4-4.mid"])
def test_generate_continues_a_seed(tiny_checkpoint: Path, tmp_path: Path, seed: str) -> None:
    out = tmp_path / "out.mid"
    result = encore("generate", "--seed", FIXTURES / seed, "--seconds", "4", "--out", out,
                    "--checkpoint", tiny_checkpoint, "--random-seed", "1", "--bpm", "120")
    if "groove" in seed:
        assert result.returncode == 2 and "no notes" in result.stderr and "Traceback" not in result.stderr
        return
    assert result.returncode == 0, result.stderr
    midi = mido.MidiFile(out)
    assert midi.type == 0
    kinds = {m.type for m in midi.tracks[0] if not m.is_meta}
    assert kinds <= {"note_on", "note_off"}
    ons = sum(1 for m in midi.tracks[0] if m.type == "note_on")
    offs = sum(1 for m in midi.tracks[0] if m.type == "note_off")
    assert ons == offs > 0


def test_continuation_only_has_the_asked_length(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "cont.mid"
    result = encore("generate", "--seed", FIXTURES / "pop909" / "002.mid", "--seconds", "6", "--out", out,
                    "--checkpoint", tiny_checkpoint, "--random-seed", "2", "--bpm", "120", "--continuation-only")
    assert result.returncode == 0, result.stderr
    assert 0 < mido.MidiFile(out).length <= 6 + 8 * 0.5 * 4


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"this is not midi at all", "not a readable MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "no notes"),
])
def test_bad_seeds_get_one_line(tiny_checkpoint: Path, tmp_path: Path, content: bytes, message: str) -> None:
    seed = tmp_path / "seed.mid"
    seed.write_bytes(content)
    result = encore("generate", "--seed", seed, "--out", tmp_path / "o.mid", "--checkpoint", tiny_checkpoint)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.mid").exists()


def test_every_subcommand_has_help() -> None:
    for command in (["generate"], ["data", "piano"], ["train", "piano"], ["play"], ["recover"], ["ports"]):
        result = encore(*command, "--help")
        assert result.returncode == 0 and "usage: encore" in result.stdout, command
