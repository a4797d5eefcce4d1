"""Entry statistics against hand-built music: a known silence, known empty bars, a known loop, known
densities per chunk; the same numbers from a MIDI file written with mido."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from encore.training.challenge.report import (
    entry_report,
    longest_repeat,
    longest_silence,
    notes_from_midi,
    report_for_file,
    save_report,
)
from encore.training.challenge.timeline import TimedNote


def n(onset: float, duration: float, pitch: int = 60, velocity: int = 80) -> TimedNote:
    return TimedNote(onset, onset + duration, pitch, velocity)


#: Sounds over [0, 2], silent [2, 7], sounds [7, 8]: 2-s bars 0 and 3 have onsets, 1 and 2 none.
SILENT = [n(0.0, 1.0), n(1.0, 1.0, 62), n(7.0, 1.0, 64)]

#: Two free notes, a three-note motif (gaps 0.5 s) played four times from 1.0 s, then one more note.
MOTIF = [(60, 0.4), (64, 0.4), (67, 0.4)]
LOOPED = [n(0.0, 0.2, 30), n(0.3, 0.2, 31)] + [
    n(1.0 + 1.5 * rep + 0.5 * k, dur, pitch) for rep in range(4) for k, (pitch, dur) in enumerate(MOTIF)
] + [n(7.3, 0.5, 90)]


def test_longest_silence() -> None:
    assert longest_silence(SILENT) == pytest.approx((5.0, 2.0))
    assert longest_silence([n(3.0, 1.0)], 0.0, 10.0) == pytest.approx((6.0, 4.0))  # the tail to the end counts
    assert longest_silence([n(3.0, 1.0)], 0.0) == pytest.approx((3.0, 0.0))  # the lead-in counts
    assert longest_silence([n(0.0, 5.0), n(1.0, 1.0), n(5.5, 1.0)]) == pytest.approx((0.5, 5.0))  # overlaps cover


def test_empty_bars_and_the_whole_report() -> None:
    report = entry_report(SILENT)
    assert report.length_s == 8.0
    assert report.longest_silence_s == pytest.approx(5.0) and report.longest_silence_at_s == pytest.approx(2.0)
    assert report.empty_bar_fraction == pytest.approx(0.5)
    assert report.notes == 3 and len(report.chunks) == 1
    assert report.chunks[0].notes_per_s == pytest.approx(3 / 8)


def test_longest_exactly_repeated_span() -> None:
    # period 3: the run starts at the second motif's 64 (its gap 0.5 equals the first's), so the
    # repetition spans from the onset before it (2.5 s) to the last repeated onset (6.5 s).
    repeat = longest_repeat(LOOPED)
    assert (repeat.span_s, repeat.start_s, repeat.period_notes) == pytest.approx((4.0, 2.5, 3))
    assert longest_repeat(SILENT).span_s == 0.0
    louder = [TimedNote(x.onset_s, x.end_s, x.pitch, 20 + i) for i, x in enumerate(LOOPED)]
    assert longest_repeat(louder).span_s == pytest.approx(4.0)  # velocity is left out
    shifted = [*LOOPED[:10], n(LOOPED[10].onset_s, 0.4, 61), *LOOPED[11:]]
    assert longest_repeat(shifted).span_s < 4.0


def test_notes_per_second_per_chunk() -> None:
    notes = [n(0.5 * i, 0.4) for i in range(60)]  # chunk 0: 2 notes/s
    notes += [n(30.0 + i, 0.9, 62) for i in range(30)]  # chunk 1: 1 note/s
    notes += [n(60.0 + 3 * i, 2.9, 64) for i in range(5)]  # chunk 2 (15 s long): 1/3 note/s
    report = entry_report(notes, 75.0)
    assert [c.start_s for c in report.chunks] == [0.0, 30.0, 60.0]
    assert [c.notes for c in report.chunks] == [60, 30, 5]
    assert [c.notes_per_s for c in report.chunks] == pytest.approx([2.0, 1.0, 1 / 3])
    assert [c.longest_silence_s for c in report.chunks] == pytest.approx([0.1, 0.1, 0.1])
    assert report.chunks[0].longest_repeat_s > 25  # one pitch, one duration, one gap: a loop


def _file(path: Path, notes: list[TimedNote], bpm: float = 120.0) -> Path:
    """A type-0 file; note_offs as velocity-0 note_ons."""
    ticks, events = 480, []
    per_s = ticks * bpm / 60
    for note in notes:
        events.append((round(note.onset_s * per_s), 1, mido.Message("note_on", note=note.pitch, velocity=note.velocity)))
        events.append((round(note.end_s * per_s), 0, mido.Message("note_on", note=note.pitch, velocity=0)))
    track, previous = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))]), 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - previous))
        previous = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks)
    midi.tracks.append(track)
    midi.save(path)
    return path


@pytest.mark.parametrize("bpm", [120.0, 90.0])
def test_the_same_numbers_from_a_midi_file(tmp_path: Path, bpm: float) -> None:
    path = _file(tmp_path / "entry.mid", LOOPED + [n(11.3, 0.5, 91)], bpm)
    read = notes_from_midi(mido.MidiFile(path))
    assert [x.pitch for x in read] == [x.pitch for x in LOOPED] + [91]
    assert [x.onset_s for x in read] == pytest.approx([x.onset_s for x in LOOPED] + [11.3], abs=2e-3)
    report = report_for_file(path)
    assert report.length_s == pytest.approx(11.8, abs=2e-3)
    assert report.longest_repeat.span_s == pytest.approx(4.0, abs=2e-3)
    assert report.longest_silence_s == pytest.approx(3.5, abs=2e-3)  # 7.8 to 11.3
    assert report.empty_bar_fraction == pytest.approx(1 / 6)  # of the six 2-s bars, [8, 10) has no onset


def test_report_files(tmp_path: Path) -> None:
    report = entry_report(LOOPED)
    save_report(report, tmp_path / "e.report.json", tmp_path / "e.report.png")
    assert (tmp_path / "e.report.png").stat().st_size > 1000
    import json

    data = json.loads((tmp_path / "e.report.json").read_text())
    assert data["longest_repeat"]["span_s"] == pytest.approx(4.0)
    assert len(data["chunks"]) == 1
    assert report.summary().count("\n") >= 3
