"""Entries are read as the grader reads them and cut into chunks of about 30 s: 120 for an hour; files
that are not MIDI, hold no notes or are far from an hour are refused with the reason."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
from arena_helpers import write_entry_file

from encore.stage.arena.entries import (
    FULL_CHUNKS,
    Chunk,
    EntryRefused,
    check_name,
    chunk_count,
    clip,
    read_music,
    split,
    write_chunk_midi,
)
from encore.training.challenge.report import notes_from_midi
from encore.training.challenge.timeline import TimedNote


def every_second(seconds: float) -> list[TimedNote]:
    return [TimedNote(float(t), t + 0.5, 60 + t % 12, 80) for t in range(int(seconds))]


@pytest.mark.parametrize("seconds", [3600.0, 3595.0, 3609.0])
def test_an_hour_is_cut_into_120_chunks_of_about_30_s(tmp_path: Path, seconds: float) -> None:
    notes = every_second(seconds - 1) + [TimedNote(seconds - 1, seconds, 72, 80)]
    music = read_music(write_entry_file(tmp_path / "hour.mid", notes))
    assert music.length_s == pytest.approx(seconds)
    chunks = split(music)
    assert len(chunks) == FULL_CHUNKS == 120
    assert all(c.length_s == pytest.approx(seconds / 120) for c in chunks)
    assert chunks[0].start_s == 0 and chunks[-1].start_s + chunks[-1].length_s == pytest.approx(seconds)
    sounding = sum(n.end_s - n.onset_s for c in chunks for n in c.notes)
    assert sounding == pytest.approx(sum(n.end_s - n.onset_s for n in notes))  # every note, split at boundaries
    assert music.warnings == ()


def test_a_short_entry_needs_allow_short_and_says_its_chunk_count(tmp_path: Path) -> None:
    path = write_entry_file(tmp_path / "short.mid", every_second(100))
    with pytest.raises(EntryRefused, match=r"99\.5 s long, far from an hour .* --allow-short takes it as 3 chunk"):
        read_music(path)
    music = read_music(path, allow_short=True)
    assert len(split(music)) == chunk_count(99.5) == 3
    assert chunk_count(5.0) == 1 and chunk_count(44.0) == 1 and chunk_count(46.0) == 2


def test_a_longer_entry_is_refused_even_with_allow_short(tmp_path: Path) -> None:
    path = write_entry_file(tmp_path / "long.mid", every_second(3700))
    with pytest.raises(EntryRefused, match="longer than an hour"):
        read_music(path, allow_short=True)


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"this is not a MIDI file", "not a readable MIDI file"),
])
def test_files_that_are_not_midi_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "entry.mid"
    path.write_bytes(content)
    with pytest.raises(EntryRefused, match=reason):
        read_music(path, allow_short=True)
    with pytest.raises(EntryRefused, match="no such file"):
        read_music(tmp_path / "missing.mid", allow_short=True)


def test_a_file_without_notes_is_refused(tmp_path: Path) -> None:
    midi = mido.MidiFile(type=0)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=480 * 7200)]))
    midi.save(tmp_path / "silent.mid")
    with pytest.raises(EntryRefused, match="no note_on"):
        read_music(tmp_path / "silent.mid", allow_short=True)


def test_it_hears_the_ticks_at_120_bpm_as_the_grader_does(tmp_path: Path) -> None:
    # A set_tempo of 60 bpm would double the length for mido; the grader strips it, and so does the arena.
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60))])
    for _ in range(60):
        track += [mido.Message("note_on", note=60, velocity=80, time=480), mido.Message("note_off", note=60, time=480)]
    midi.tracks.append(track)
    midi.save(tmp_path / "slow.mid")
    music = read_music(tmp_path / "slow.mid", allow_short=True)
    assert music.length_s == pytest.approx(60.0)
    assert music.notes[1].onset_s == pytest.approx(1.5)
    assert any("120 bpm" in warning for warning in music.warnings)


def test_a_note_held_across_a_boundary_sounds_in_both_chunks(tmp_path: Path) -> None:
    notes = [TimedNote(25.0, 35.0, 60, 90), TimedNote(40.0, 41.0, 64, 70), TimedNote(59.0, 60.0, 67, 70)]
    music = read_music(write_entry_file(tmp_path / "held.mid", notes), allow_short=True)
    first, second = split(music)
    assert [(n.onset_s, n.end_s, n.pitch) for n in first.notes] == [(25.0, 30.0, 60)]
    assert [(round(n.onset_s, 3), round(n.end_s, 3), n.pitch) for n in second.notes] == [
        (0.0, 5.0, 60), (10.0, 11.0, 64), (29.0, 30.0, 67)]
    assert clip(notes, 36.0, 3.0) == []


def test_a_chunk_midi_file_holds_its_notes(tmp_path: Path) -> None:
    chunk = Chunk(3, 90.0, 30.0, (TimedNote(0.0, 1.5, 60, 90), TimedNote(29.0, 30.0, 72, 64)))
    path = write_chunk_midi(tmp_path / "003.mid", chunk)
    back = notes_from_midi(mido.MidiFile(path))
    assert [(round(n.onset_s, 3), round(n.end_s, 3), n.pitch, n.velocity) for n in back] == [
        (0.0, 1.5, 60, 90), (29.0, 30.0, 72, 64)]


@pytest.mark.parametrize("name", ["", "../up", "a b", ".hidden", "x" * 65])
def test_bad_entry_names_are_refused(name: str) -> None:
    with pytest.raises(EntryRefused, match="entry name"):
        check_name(name)
    assert check_name("grpo-step_400.v2") == "grpo-step_400.v2"
