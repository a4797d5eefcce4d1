"""Port lookup across MIDI APIs, on a real JACK server: `--midi-port` and `--midi-in` without `--midi-api`."""

from __future__ import annotations

import builtins
import threading
import time
from pathlib import Path

import pytest

from encore.engine.midi_ports import MidiPortError, load_rtmidi, open_input, open_output
from encore.stage.cli import main
from tests.engine.engine_helpers import JackReader


def test_encore_play_finds_a_jack_port_without_midi_api(jack_server: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    setlist = tmp_path / "set.toml"
    setlist.write_text("[click]\n[[songs]]\ntempo = 240\nbars = 8\n", encoding="utf-8")
    with JackReader("test-reader") as reader:
        code = main(["play", str(setlist), "--midi-port", "test-reader", "--seconds", "2"])
        time.sleep(0.2)
    received = reader.messages
    assert code == 0, capsys.readouterr().err
    ons = [m for m in received if m[0] & 0xF0 == 0x90 and m[2] > 0]
    offs = [m for m in received if m[0] & 0xF0 == 0x80 or (m[0] & 0xF0 == 0x90 and m[2] == 0)]
    assert len(ons) >= 6 and len(offs) >= len(ons)  # the click, four a second, every note released
    assert any(m[0] & 0xF0 == 0xB0 and m[1:] == [123, 0] for m in received)  # the end: All Notes Off


def test_no_matching_port_lists_the_ports_there_are(jack_server: str) -> None:
    with JackReader("test-reader"):
        with pytest.raises(MidiPortError) as caught:
            open_output("no-such-synth")
        with pytest.raises(MidiPortError) as caught_in:
            open_input("no-such-keyboard", api="jack")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("no MIDI output matches 'no-such-synth' (")
    assert "jack: test-reader:in" in message and "alsa: " in message  # ALSA is tried first, then JACK
    assert str(caught_in.value) == "no MIDI input matches 'no-such-keyboard' (jack: no ports)"


def test_a_jack_input_is_found_without_naming_the_api(jack_server: str) -> None:
    import rtmidi

    keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "test-keys")
    keys.open_virtual_port("out")
    try:
        opened = open_input("test-keys")
        try:
            assert (opened.api, opened.port) == ("jack", "test-keys:out")
        finally:
            opened.handle.close_port()
            opened.handle.delete()
    finally:
        keys.close_port()
        keys.delete()


def test_a_knob_turned_fast_arrives_whole_while_python_is_busy(jack_server: str) -> None:
    """Each value once, in order and in time, read while a Python thread computes and `check` watches
    the port (a Python callback in JACK's thread, waiting there for the GIL, lost values and repeated others)."""
    import rtmidi

    from encore.engine.midi_reading import POLL_S
    from encore.stage.controllers.midi_input import MidiInput

    knobs = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "test-knobs")
    knobs.open_virtual_port("out")
    midi_input = MidiInput("test-knobs", api="jack")
    done = threading.Event()

    def compute() -> None:  # the engine, a screen: Python that holds the GIL
        while not done.is_set():
            sum(range(10_000))

    worker = threading.Thread(target=compute)
    sent = [*range(127, 0, -8), 0]  # a knob turned down fast
    try:
        time.sleep(0.2)
        worker.start()
        for _ in range(20):
            before = time.perf_counter()
            for value in sent:
                knobs.send_message([0xB0, 70, value])
            received: list[tuple[list[int], float]] = []
            deadline = time.monotonic() + 5.0
            while len(received) < len(sent) and time.monotonic() < deadline:
                time.sleep(POLL_S)
                received += midi_input.read()
                assert not midi_input.check()  # the port is there: no change
            assert [message[2] for message, _ in received] == sent
            arrivals = [at for _, at in received]
            assert arrivals == sorted(arrivals) and before <= arrivals[0] <= time.perf_counter()
    finally:
        done.set()
        if worker.is_alive():
            worker.join()
        midi_input.close()
        knobs.close_port()
        knobs.delete()


def test_a_missing_system_library_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def failing_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "rtmidi":
            raise ImportError("libasound.so.2: cannot open shared object file: No such file or directory")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(MidiPortError, match=r"cannot be loaded \(libasound.so.2: .*\): install the Debian package libasound2$"):
        load_rtmidi()
