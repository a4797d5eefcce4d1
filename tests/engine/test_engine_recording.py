"""Recording: the journal, the MIDI file (type 1 and 0), recovery, and FluidSynth rendering to WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from engine_helpers import eighths, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.journal import JournalError, read_journal
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.engine.sinks.recorder import RecorderSink, journal_path_for, recover
from encore.engine.sinks.wav import WavSink
from encore.engine.synth import Synth, SynthError
from encore.stage.cli import main


def play(sinks: list, seconds: float, voices: list | None = None, **config: object) -> Engine:
    engine = Engine(voices or [eighths()], sinks, EngineConfig(**config), now=VirtualClock())
    engine.run_offline(seconds)
    return engine


def midi_notes(midi: mido.MidiFile) -> list[tuple[int, int]]:
    """(absolute tick, pitch) of every note-on, across tracks."""
    notes = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                notes.append((tick, message.note))
    return sorted(notes)


def test_recording_writes_a_track_per_voice_with_tempo_changes(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    memory = MemorySink()
    engine = Engine([eighths("a", 0), eighths("b", 1, pitch=40)], [RecorderSink(out), memory],
                    EngineConfig(bpm=120.0), now=VirtualClock())
    engine.cue(SetTempo(90.0), 4.0)
    engine.run_offline(6.0)
    midi = mido.MidiFile(out)
    assert midi.type == 1 and [t.name for t in midi.tracks] == ["tempo", "a", "b"]
    assert [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"] == [500000, mido.bpm2tempo(90)]
    assert len(midi_notes(midi)) == len(note_ons(memory.events))
    assert midi_notes(midi)[:2] == [(0, 40), (0, 60)]
    assert midi.length == pytest.approx(6.0, abs=0.01)
    assert journal_path_for(out).is_file()


def test_type_0_on_request(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    play([RecorderSink(out, midi_type=0)], 3.0)
    midi = mido.MidiFile(out)
    assert midi.type == 0 and len(midi.tracks) == 1 and len(midi_notes(midi)) == 12


def record_two_voices_with_a_tempo_change(out: Path) -> MemorySink:
    """Record 6 s of two voices, 120 then 90 bpm from beat 4; returns a twin of what was recorded."""
    memory = MemorySink()
    engine = Engine([eighths("a", 0), eighths("b", 1, pitch=40)], [RecorderSink(out), memory],
                    EngineConfig(bpm=120.0), now=VirtualClock())
    engine.cue(SetTempo(90.0), 4.0)
    engine.run_offline(6.0)
    return memory


def fields(events: list[MidiEvent]) -> list[tuple[float, float, tuple[int, ...], str]]:
    """Every field of every event, times and beats to the journal's 6 decimals."""
    return [(round(e.time, 6), round(e.beat, 6), e.message, e.track) for e in events]


def midi_messages(path: Path) -> list[list[mido.Message | mido.MetaMessage]]:
    return [list(track) for track in mido.MidiFile(path).tracks]


def journal_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]  # every line ends with a newline


def test_recover_round_trips_every_event_and_rebuilds_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    memory = record_two_voices_with_a_tempo_change(out)
    header, events = read_journal(journal_path_for(out))
    assert header.midi_type == 1 and header.time_signature == (4, 4) and header.ppq == 480
    assert len(events) == len(memory.events) > 40
    assert fields(events) == fields(memory.events)  # time, beat, bytes and track of each, in order
    assert {e.track for e in events} == {"a", "b", "tempo"}
    assert recover(journal_path_for(out), tmp_path / "recovered.mid") == len(memory.events)
    assert midi_messages(tmp_path / "recovered.mid") == midi_messages(out)


def test_recover_keeps_the_last_complete_line(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    memory = record_two_voices_with_a_tempo_change(out)
    journal = journal_path_for(out)
    lines = journal_lines(journal)
    journal.write_text("\n".join(lines[:21]) + "\n")  # killed right after line 21 was written whole
    _, events = read_journal(journal)
    assert fields(events) == fields(memory.events[:20])
    assert recover(journal, tmp_path / "recovered.mid") == 20


def test_recover_skips_only_a_truncated_last_line(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    memory = record_two_voices_with_a_tempo_change(out)
    journal = journal_path_for(out)
    lines = journal_lines(journal)
    journal.write_text("\n".join(lines[:20]) + "\n" + lines[20][:17])  # killed in the middle of writing line 21
    header, events = read_journal(journal)
    assert header.midi_type == 1 and fields(events) == fields(memory.events[:19])
    count = recover(journal, tmp_path / "recovered.mid")
    recovered = mido.MidiFile(tmp_path / "recovered.mid")
    assert count == 19
    ons = sum(1 for t in recovered.tracks for m in t if m.type == "note_on" and m.velocity > 0)
    offs = sum(1 for t in recovered.tracks for m in t if m.type == "note_off")
    assert ons == offs == len(note_ons(events))  # a note left sounding by the crash is ended


@pytest.mark.parametrize("bad", ["not json", '{"t":0.5,"b":1.0,"tr":"a"}', "", '{"t":0.5,"b":1.0,"tr":"a","m":[144,'])
def test_a_corrupt_line_in_the_middle_is_an_error_naming_it(tmp_path: Path, bad: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set.mid"
    record_two_voices_with_a_tempo_change(out)
    journal = journal_path_for(out)
    lines = journal_lines(journal)
    lines[4] = bad  # line 5 of the file
    journal.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalError, match=r"line 5: corrupt"):
        read_journal(journal)
    assert main(["recover", str(journal), "--out", str(tmp_path / "recovered.mid")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not (tmp_path / "recovered.mid").exists()
    assert captured.err.startswith("encore: error:") and "line 5: corrupt" in captured.err
    assert captured.err.count("\n") == 1


def test_a_corrupt_last_line_that_was_written_whole_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "set.mid"
    record_two_voices_with_a_tempo_change(out)
    journal = journal_path_for(out)
    lines = journal_lines(journal)
    journal.write_text("\n".join([*lines[:-1], "garbage"]) + "\n")
    with pytest.raises(JournalError, match=f"line {len(lines)}: corrupt"):
        read_journal(journal)


def test_recover_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set.mid"
    memory = record_two_voices_with_a_tempo_change(out)
    code = main(["recover", str(journal_path_for(out)), "--out", str(tmp_path / "recovered.mid"), "--midi-type", "0"])
    assert code == 0 and f"recovered {len(memory.events)} events" in capsys.readouterr().out
    recovered = mido.MidiFile(tmp_path / "recovered.mid")
    assert recovered.type == 0 and midi_notes(recovered) == midi_notes(mido.MidiFile(out))


def test_recover_reports_a_corrupt_journal_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journal"
    bad.write_text("not json\n")
    with pytest.raises(JournalError, match="not an encore journal"):
        recover(bad, tmp_path / "x.mid")
    with pytest.raises(JournalError, match="cannot read"):
        recover(tmp_path / "missing.journal", tmp_path / "x.mid")


def window_rms(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    window = samples[int(start * rate):int(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(window**2)))


def test_wav_has_the_show_length_and_sound_where_notes_sound(tmp_path: Path) -> None:
    out = tmp_path / "set.wav"
    play([WavSink(out, tail_s=0.5)], 4.0, bpm=120.0)
    with wave.open(str(out)) as wav:
        rate, frames = wav.getframerate(), wav.getnframes()
        assert wav.getnchannels() == 2 and wav.getsampwidth() == 2
        samples = np.frombuffer(wav.readframes(frames), dtype=np.int16).reshape(-1, 2)
    assert frames / rate == pytest.approx(4.5, abs=0.01)
    for second in range(4):
        assert window_rms(samples, rate, second + 0.05, second + 0.2) > 200, f"silent at {second} s"
    assert window_rms(samples, rate, 4.4, 4.5) < window_rms(samples, rate, 1.0, 1.5) / 10  # released


def test_silence_is_silent(tmp_path: Path) -> None:
    out = tmp_path / "silence.wav"
    sink = WavSink(out, tail_s=1.0)
    sink.close()
    with wave.open(str(out)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(samples) == 2 * 44100 and np.abs(samples).max() <= 2  # FluidSynth dithers by one LSB


def test_a_missing_soundfont_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="not an existing"):
        Synth(tmp_path / "nope.sf2")
