"""Notes to MIDI: every note written, a re-struck key cut at the new onset, strict on/off per key."""

from __future__ import annotations

from pathlib import Path

import mido

from encore.models.midi_writer import note_messages, write_notes
from encore.models.notes import NoteEvent


def _spans(notes: list[NoteEvent]) -> list[tuple[int, int, int, int]]:
    """(start tick, end tick, pitch, velocity) of each note as written, paired per key."""
    open_at: dict[int, tuple[int, int]] = {}
    spans = []
    for tick, message in note_messages(notes, channel=0, ticks_per_beat=480):
        if message.type == "note_on":
            assert message.note not in open_at, f"key {message.note} struck twice without a note_off"
            open_at[message.note] = (tick, message.velocity)
        else:
            start, velocity = open_at.pop(message.note)
            spans.append((start, tick, message.note, velocity))
    assert not open_at
    return sorted(spans)


def test_notes_are_written_with_their_ticks() -> None:
    notes = [NoteEvent(0.0, 60, 80, 1.0), NoteEvent(0.5, 64, 90, 0.25), NoteEvent(2.0, 60, 70, 0.5)]
    assert _spans(notes) == [(0, 480, 60, 80), (240, 360, 64, 90), (960, 1200, 60, 70)]


def test_a_key_struck_again_before_its_end_cuts_the_earlier_note_and_keeps_both() -> None:
    notes = [NoteEvent(0.0, 60, 80, 2.0), NoteEvent(1.0, 60, 100, 2.0), NoteEvent(1.5, 60, 90, 0.25)]
    assert _spans(notes) == [(0, 480, 60, 80), (480, 720, 60, 100), (720, 840, 60, 90)]


def test_two_notes_on_one_key_and_tick_keep_the_first() -> None:
    assert _spans([NoteEvent(1.0, 62, 50, 1.0), NoteEvent(1.0, 62, 99, 0.5)]) == [(480, 960, 62, 50)]


def test_write_notes_makes_a_type_0_file_of_the_given_tempo(tmp_path: Path) -> None:
    write_notes(tmp_path / "a.mid", [NoteEvent(0.0, 60, 80, 1.0), NoteEvent(3.0, 67, 80, 1.0)], bpm=100.0)
    midi = mido.MidiFile(tmp_path / "a.mid")
    assert midi.type == 0 and len(midi.tracks) == 1
    assert midi.length == 4.0 * 60 / 100.0
