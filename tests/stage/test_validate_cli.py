"""`encore validate`: a correct entry passes (exit 0); each broken grader rule fails with its own line
(exit 1); an unreadable file gets one line and exit 2. Files are built with mido here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mido
import pytest

from encore.stage.cli import main

TICKS = 480
#: Ticks of one second at 120 bpm.
PER_S = 2 * TICKS


def _notes(seconds: float, channel: int = 0, off_as_note_on: bool = False) -> list[mido.Message]:
    """A note every second from 0.5 s, each lasting half a second, the last one released at `seconds`."""
    messages: list[mido.Message] = []
    count = int(seconds)
    for index in range(count):
        messages.append(mido.Message("note_on", channel=channel, note=60 + index % 12, velocity=80, time=PER_S // 2))
        off = (mido.Message("note_on", channel=channel, note=60 + index % 12, velocity=0, time=PER_S // 2)
               if off_as_note_on else
               mido.Message("note_off", channel=channel, note=60 + index % 12, velocity=0, time=PER_S // 2))
        messages.append(off)
    return messages


def _save(path: Path, tracks: list[list], file_type: int = 0) -> Path:
    midi = mido.MidiFile(type=file_type, ticks_per_beat=TICKS)
    for messages in tracks:
        midi.tracks.append(mido.MidiTrack(messages))
    midi.save(path)
    return path


def good(path: Path) -> Path:
    return _save(path, [_notes(3600)])


def _with(extra: Callable[[list], list]) -> Callable[[Path], Path]:
    return lambda path: _save(path, [extra(_notes(3600))])


BROKEN: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "type 1": (lambda p: _save(p, [_notes(3600)], file_type=1), "FAIL type 0: MIDI type 1", "type 0"),
    "two tracks": (lambda p: _save(p, [_notes(3600), _notes(10, channel=1)], file_type=1), "FAIL one track: 2 tracks", "one track"),
    "control change": (_with(lambda m: [mido.Message("control_change", control=64, value=127), *m]),
                       "found 1 control_change", "only note events"),
    "program change": (_with(lambda m: [mido.Message("program_change", program=0), *m]),
                       "found 1 program_change", "only note events"),
    "set_tempo 60 bpm": (_with(lambda m: [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60)), *m]),
                         "60.00 bpm at tick 0", "120 bpm"),
    "too short": (lambda p: _save(p, [_notes(3500)]), "3500.00 s, outside 3600 +/- 10 s (-100.00 s)", "length"),
    "too long": (lambda p: _save(p, [_notes(3611)]), "(+11.00 s)", "length"),
    "meta with a delta": (lambda p: _save(p, [[mido.MetaMessage("marker", text="x", time=20 * PER_S), *_notes(3580)]]),
                          "FAIL length without meta: 3580.00 s", "length without meta"),
    "no notes": (lambda p: _save(p, [[mido.MetaMessage("end_of_track", time=3600 * PER_S)]]), "no note_on", "has notes"),
}


def test_a_correct_entry_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(good(tmp_path / "entry.mid"))]) == 0
    out = capsys.readouterr().out
    assert "passes every grader rule" in out and "FAIL" not in out
    assert mido.MidiFile(tmp_path / "entry.mid").length == pytest.approx(3600)


def test_velocity_zero_note_on_counts_as_note_off(tmp_path: Path) -> None:
    assert main(["validate", str(_save(tmp_path / "e.mid", [_notes(3600, off_as_note_on=True)]))]) == 0


def test_a_set_tempo_of_120_bpm_is_harmless(tmp_path: Path) -> None:
    path = _with(lambda m: [mido.MetaMessage("set_tempo", tempo=500000), *m])(tmp_path / "e.mid")
    assert main(["validate", str(path)]) == 0


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_rule_fails_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    build, message, rule = BROKEN[case]
    assert main(["validate", str(build(tmp_path / "entry.mid"))]) == 1
    out = capsys.readouterr().out
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith(f"FAIL {rule}:") for line in failures), out
    assert message in out, out


def test_a_meta_delta_counts_as_stored_but_not_once_stripped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build, _, _ = BROKEN["meta with a delta"]
    main(["validate", str(build(tmp_path / "entry.mid"))])
    out = capsys.readouterr().out
    assert "ok   length: 3600.00 s" in out  # the marker's 20 s count while it is there
    assert "(-20.00 s)" in out


def test_short_entries_validate_against_their_own_length(tmp_path: Path) -> None:
    path = _save(tmp_path / "short.mid", [_notes(60)])
    assert main(["validate", str(path)]) == 1
    assert main(["validate", str(path), "--seconds", "60"]) == 0


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    (b"", "the file is empty"),
    (b"definitely not midi", "not a readable MIDI file"),
])
def test_unreadable_files_get_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.mid"
    if content is not None:
        path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
