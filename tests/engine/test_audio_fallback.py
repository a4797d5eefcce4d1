"""With no audio device the show still starts: the audio output says `off` and why, and the MIDI
recording and the WAV file, rendered in real time, come out whole. `encore play` does the same."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest

from encore.engine.midi import MidiEvent
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show, build_sinks
from encore.engine.sinks.audio import AudioSink, AudioUnavailable, find_output

CLICK = "[click]\nstep_beats = 0.5\n[[songs]]\ntempo = 240\nbars = 4\n"  # 4 s, an eighth every 0.125 s
SHOW_S = 4.0


def hidden_jack() -> dict[str, str]:
    """Environment that keeps libjack from finding (or starting) any JACK server."""
    return {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": f"encore-no-server-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def no_audio_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine where PortAudio finds no output at all (JACK hidden); skipped, saying which device it
    found, on a machine with a sound card: the fallback itself is tested there with a missing device."""
    for key, value in hidden_jack().items():
        monkeypatch.setenv(key, value)
    try:
        found = find_output()
    except AudioUnavailable:
        yield
        return
    pytest.skip(f"this machine has an audio output ({found.name}, {found.host_api}): the no-device case "
                "runs where there is none (CI)")


def wav_samples(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path)) as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)


def test_a_missing_named_device_turns_audio_off_with_the_reason() -> None:
    sink = AudioSink(device="encore-no-such-device")
    status = sink.status()
    assert sink.off and status.state == "off" and status.kind == "audio"
    assert status.detail.startswith("no output device named 'encore-no-such-device'") and "\n" not in status.detail
    sink.send(MidiEvent(0.0, 0.0, (0x90, 60, 90), "click"))  # nothing to play to, and no error either
    sink.close()
    assert sink.status().state == "closed"


def test_a_real_time_show_with_no_audio_device_records_and_renders_in_real_time(
        no_audio_output: None, tmp_path: Path) -> None:
    (tmp_path / "click.toml").write_text(CLICK)
    setlist = load_setlist(tmp_path / "click.toml")
    options = PlayOptions(record=tmp_path / "set.mid", wav=tmp_path / "set.wav")
    sinks = build_sinks(options)
    assert [sink.kind for sink in sinks] == ["audio", "wav", "recorder"]
    for sink in sinks:
        sink.close()
    show = Show.build(setlist, options)
    assert not show.offline
    audio = show.snapshot().outputs[0]
    assert (audio.kind, audio.state) == ("audio", "off") and audio.detail.startswith("no audio output device")
    report = asyncio.run(show.perform())
    assert report.seconds == pytest.approx(SHOW_S, abs=0.05) and not report.sink_failures
    assert report.notes_sent in (32, 33) and report.counts.dropped == 0  # an eighth every 0.125 s for 4 s (+ one at 4 s)
    assert [o.state for o in show.snapshot().outputs] == ["closed", "closed", "closed"]
    midi = mido.MidiFile(tmp_path / "set.mid")
    assert midi.length == pytest.approx(SHOW_S, abs=0.01)
    assert sum(m.type == "note_on" and m.velocity > 0 for m in mido.merge_tracks(midi.tracks)) == report.notes_sent
    rate, samples = wav_samples(tmp_path / "set.wav")
    assert len(samples) / rate == pytest.approx(SHOW_S + 1.0, abs=0.01)  # the show and a second of release
    loud = np.abs(samples).max(axis=1) > 500
    assert loud[: rate // 20].any() and loud[int(3.8 * rate): int(4.0 * rate)].any()  # sound from start to end


def test_encore_play_without_a_sound_card_plays_on_to_the_wav_and_the_recording(
        no_audio_output: None, tmp_path: Path) -> None:
    (tmp_path / "click.toml").write_text(CLICK.replace("bars = 4", "bars = 2"))
    env = {**os.environ, **hidden_jack()}
    command = [sys.executable, "-m", "encore.stage.cli", "play", str(tmp_path / "click.toml"),
               "--wav", str(tmp_path / "out.wav"), "--record", str(tmp_path / "out.mid")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "(real time)" in done.stdout and "live audio off: no audio output device" in done.stderr
    assert mido.MidiFile(tmp_path / "out.mid").length == pytest.approx(2.0, abs=0.01)
    rate, samples = wav_samples(tmp_path / "out.wav")
    assert len(samples) / rate == pytest.approx(3.0, abs=0.01) and np.abs(samples).max() > 500
