"""`--midi-in` end to end on a real JACK server: a test client plays CC and notes into a running show."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from encore.engine.commands.reseed import Reseed
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ControlLatency
from encore.engine.results import Applied, CommandResult
from encore.engine.show import Show
from encore.engine.sinks.base import MemorySink
from encore.engine.surfaces import perform_with_surfaces
from encore.engine.voices.pattern import PatternVoice
from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.stage.controllers.mapping import Binding, Source, load_mapping
from encore.stage.controllers.options import add_midi_in_arguments, controller_surface_from_args
from encore.stage.controllers.surface import ControllerSurface

CLIENT = "test-controller"
SEED = Path(__file__).resolve().parents[3] / "setlists" / "seeds" / "pop909_003.mid"
WAIT_S = 15.0
"""How long a condition may take on a loaded machine (they take milliseconds on an idle one)."""


class JackController:
    """A JACK client with an output port `test-controller:out`: a knob box and keyboard the test plays."""

    def __init__(self) -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, CLIENT)
        self.out.open_virtual_port("out")

    def cc(self, number: int, value: int, channel: int = 1) -> None:
        self.out.send_message([0xB0 | (channel - 1), number, value])

    def note_on(self, pitch: int, velocity: int = 90, channel: int = 1) -> None:
        self.out.send_message([0x90 | (channel - 1), pitch, velocity])

    def note_off(self, pitch: int, channel: int = 1) -> None:
        self.out.send_message([0x80 | (channel - 1), pitch, 0])

    async def pad(self, note: int, channel: int = 10) -> None:
        self.note_on(note, 100, channel)
        await asyncio.sleep(0.05)
        self.note_off(note, channel)

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


@pytest.fixture
def controller(jack_server: str) -> Iterator[JackController]:
    device = JackController()
    try:
        yield device
    finally:
        device.close()


def surface_for(*argv: str) -> ControllerSurface:
    """The surface `encore play` builds from these options (`--midi-api` as `encore play` has it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--midi-api", choices=("alsa", "jack"), default=None)
    add_midi_in_arguments(parser)
    surface = controller_surface_from_args(parser.parse_args(list(argv)))
    assert isinstance(surface, ControllerSurface)
    return surface


def pattern_show(seconds: float = 60.0) -> Show:
    """A real-time show of one pattern voice named `piano` (plays at once, no model to load)."""
    voice = PatternVoice("piano", 0, [NoteEvent(i * 0.5, 60 + i, 90, 0.4) for i in range(4)], 2.0)
    return Show(Engine([voice], [MemorySink()], EngineConfig(bpm=120.0)), seconds=seconds)


async def until(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def perform(show: Show, surface: ControllerSurface, script: Callable[[], Coroutine[Any, Any, None]]) -> object:
    """Perform `show` with `surface` beside it while `script` plays the controller; the show stops after it."""
    async def main() -> object:
        async def run_script() -> None:
            try:
                await until(lambda: show.snapshot().playing, "the show to start")
                await asyncio.sleep(0.2)  # the surface is listening
                await script()
            finally:
                show.stop()

        report, _ = await asyncio.gather(perform_with_surfaces(show, [surface]), run_script())
        return report

    return asyncio.run(main())


def test_a_mapped_knob_changes_the_temperature_and_results_are_reported(controller: JackController) -> None:
    surface = surface_for("--midi-in", CLIENT)  # the shipped mapping; JACK found without --midi-api
    assert (surface.input.api, surface.input.port) == ("jack", f"{CLIENT}:out")
    show = pattern_show()
    temperature = lambda: show.snapshot().voice("piano").sampling.temperature  # noqa: E731

    async def script() -> None:
        controller.cc(70, 127)
        await until(lambda: temperature() == 2.0, "CC 70 = 127 to set temperature 2.0")
        for value in range(0, 128, 8):  # a knob turned down fast: the last value wins
            controller.cc(70, 127 - value)
        controller.cc(70, 0)
        await until(lambda: temperature() == 0.1, "CC 70 = 0 to set temperature 0.1")
        controller.cc(74, 127)  # tempo to 180
        await until(lambda: show.snapshot().tempo_bpm == 180.0, "CC 74 = 127 to set 180 bpm")
        controller.cc(75, 64)  # the drums' temperature: this show has no drums
        await until(lambda: any("rejected" in r.text for r in surface.reports), "the rejection to be reported")

    report = perform(show, surface, script)
    texts = [r.text for r in surface.reports]
    assert "CC 70 -> temperature (piano) 2.0: applied" in texts
    assert "CC 70 -> temperature (piano) 0.1: applied" in texts
    assert "CC 74 -> tempo 180.0: applied" in texts
    rejected = next(r for r in surface.reports if not r.ok)
    assert rejected.text.startswith("CC 75 -> temperature (drums) 1.057: rejected: voice: no voice named 'drums'")
    assert report.notes_sent > 0 and surface.input.state == "closed"


def test_learn_mode_maps_a_knob_and_saves_the_mapping(controller: JackController, tmp_path: Path) -> None:
    saved = tmp_path / "learned.toml"
    surface = surface_for("--midi-in", CLIENT, "--midi-api", "jack", "--controller-map", str(saved))
    show = pattern_show()

    async def script() -> None:
        target = surface.learn("tempo")
        assert target.label() == "tempo" and "learning tempo" in surface.status().detail
        controller.cc(21, 127, channel=2)  # the knob moved: learned, and its first value is not applied
        await until(lambda: surface.learner.waiting is None, "CC 21 to be learned")
        controller.cc(21, 0, channel=2)
        await until(lambda: show.snapshot().tempo_bpm == 60.0, "the learned knob to set 60 bpm")
        controller.cc(74, 127)  # CC 74 drove tempo in the shipped mapping; learning moved tempo away from it
        await asyncio.sleep(0.3)

    perform(show, surface, script)
    assert show.snapshot().tempo_bpm == 60.0
    learned = load_mapping(saved)
    assert Binding(Source("cc", 21, 2), "tempo", low=60.0, high=180.0) in learned.bindings
    assert not any(b.source.number == 74 and b.source.kind == "cc" for b in learned.bindings)
    assert f"learned CC 21 ch 2 -> tempo (saved to {saved})" in [r.text for r in surface.reports]


@pytest.mark.slow
def test_a_phrase_played_on_the_keyboard_becomes_the_pianos_seed(controller: JackController, tmp_path: Path) -> None:
    from encore.engine.setlist import load_setlist
    from encore.engine.show import PlayOptions

    setlist = tmp_path / "set.toml"
    setlist.write_text(f'[piano]\ncheckpoint = "default"\n[[songs]]\nseed = "{SEED}"\ntempo = 120\nbars = 64\n',
                       encoding="utf-8")
    show = Show.build(load_setlist(setlist), PlayOptions(headless=True, realtime=True, seconds=120.0))
    surface = surface_for("--midi-in", CLIENT)
    results: list[CommandResult] = []
    show.engine.subscribe(results.append)
    pitches = [60, 64, 67, 72, 67]
    step_s = 0.25

    sent_at: list[float] = []

    def play_phrase() -> None:
        for pitch in pitches:
            sent_at.append(time.perf_counter())
            controller.note_on(pitch, 80)
            time.sleep(step_s * 0.6)
            controller.note_off(pitch)
            time.sleep(step_s * 0.4)

    def reseeds() -> list[Reseed]:
        return [r.command for r in results if isinstance(r, Applied) and isinstance(r.command, Reseed)
                and not isinstance(r.command.seed, Path)]

    async def script() -> None:
        await controller.pad(36)  # the capture pad: armed
        await until(lambda: surface.capture.state == "armed", "the capture pad to arm capture")
        await asyncio.to_thread(play_phrase)  # from a thread of its own, as a keyboard plays: on time
        await until(lambda: surface.capture.notes == len(pitches), "every note to be captured")
        await controller.pad(36)  # pressed again: the phrase is sent
        await until(lambda: reseeds(), "the phrase to be applied as a reseed")
        await until(lambda: show.snapshot().voice("piano").seed == f"phrase ({len(pitches)} notes)",
                    "the piano to prime with the phrase")
        await until(lambda: reseed_latencies(show.engine.control_latencies), "a piano note after the phrase", 30.0)

    report = perform(show, surface, script)
    # The engine measured the reseed from submission to the first piano note under it sounding.
    assert reseed_latencies(report.control_latencies)
    phrase = reseeds()[0].seed
    assert [note.pitch for note in phrase] == pitches
    bpm = show.snapshot().tempo_bpm
    gaps = [b.onset_beats - a.onset_beats for a, b in zip(phrase, phrase[1:], strict=False)]
    played = [(b - a) * bpm / 60.0 for a, b in zip(sent_at, sent_at[1:], strict=False)]  # ~0.5 beat each
    assert gaps == pytest.approx(played, abs=0.1)  # where they were played, within 50 ms
    assert 0.0 <= phrase[0].onset_beats < 4.0  # from the bar line before the first note
    assert any(r.text.startswith(f"phrase of {len(pitches)} notes -> reseed (piano)") and r.text.endswith("applied")
               for r in surface.reports)
    assert report.notes_sent > 0


def reseed_latencies(latencies: list[ControlLatency]) -> list[ControlLatency]:
    return [latency for latency in latencies if latency.command == "Reseed" and latency.voice == "piano"]


def test_a_vanished_input_port_is_reported_and_found_again(jack_server: str) -> None:
    controller = JackController()
    surface = surface_for("--midi-in", CLIENT)
    show = pattern_show()
    box: list[JackController] = [controller]

    async def script() -> None:
        box[0].close()
        await until(lambda: surface.status().state == "vanished", "the input to be seen gone")
        assert "waiting for it to come back" in surface.status().detail
        await asyncio.sleep(0.5)
        assert show.snapshot().playing  # the show plays on
        box[0] = JackController()
        await until(lambda: surface.status().state == "open", "the input to be found again")
        box[0].cc(70, 127)
        await until(lambda: show.snapshot().voice("piano").sampling.temperature == 2.0, "the knob to work again")

    try:
        report = perform(show, surface, script)
    finally:
        box[0].close()
    texts = [r.text for r in surface.reports]
    assert f"MIDI input {CLIENT}:out vanished: waiting for it (the show plays on)" in texts
    assert f"MIDI input {CLIENT}:out is back" in texts
    assert report.notes_sent > 0


def test_no_matching_input_is_one_line_listing_the_ports(controller: JackController) -> None:
    with pytest.raises(EncoreError) as caught:
        surface_for("--midi-in", "no-such-keyboard")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("no MIDI input matches 'no-such-keyboard' (")
    assert f"jack: {CLIENT}:out" in str(caught.value)
    with pytest.raises(EncoreError, match="--controller-map needs --midi-in"):
        surface_for("--controller-map", "x.toml")


def test_encore_play_with_midi_in_follows_a_knob_into_the_recording(controller: JackController, tmp_path: Path) -> None:
    setlist, record = tmp_path / "set.toml", tmp_path / "set.mid"
    setlist.write_text("[click]\n[[songs]]\ntempo = 120\nbars = 64\n", encoding="utf-8")
    command = [sys.executable, "-m", "encore.stage.cli", "play", str(setlist), "--headless", "--realtime",
               "--seconds", "5", "--record", str(record), "--midi-in", CLIENT]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120.0
        while process.poll() is None and time.monotonic() < deadline:
            controller.cc(74, 127)  # tempo 180 (the shipped mapping), sent until the show has taken it
            time.sleep(0.2)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    import mido

    tempos = [round(mido.tempo2bpm(m.tempo), 3) for track in mido.MidiFile(record).tracks for m in track
              if m.type == "set_tempo"]
    assert tempos[0] == 120.0 and 180.0 in tempos, tempos
