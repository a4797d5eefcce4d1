"""Controls, gestures and learn mode: CC values onto ranges, buttons on rising edges, the learn state machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.engine.commands.mix import Mute
from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent
from encore.stage.controllers.controls import Press, Turn, chosen, command_for, scaled
from encore.stage.controllers.gestures import GestureReader
from encore.stage.controllers.learn import Learner
from encore.stage.controllers.mapping import Binding, Source
from encore.stage.controllers.messages import ControllerMessage, parse


def snapshot_of(*voices: str, muted: str | None = None) -> ShowSnapshot:
    """A real engine's snapshot (not started) with pattern voices of these names."""
    engine = Engine([PatternVoice(name, i, [NoteEvent(0.0, 60, 90, 0.5)], 4.0) for i, name in enumerate(voices)],
                    [MemorySink()], EngineConfig(bpm=120.0))
    if muted is not None:
        engine.router.set_muted(muted, True)
    return engine.snapshot()


@pytest.mark.parametrize(("value", "low", "high", "integer", "expected"), [
    (0, 0.1, 2.0, False, 0.1), (127, 0.1, 2.0, False, 2.0), (64, 0.1, 2.0, False, 1.057),
    (0, 60.0, 180.0, False, 60.0), (127, 60.0, 180.0, False, 180.0), (32, 60.0, 180.0, False, 90.236),
    (127, 2.0, 0.1, False, 0.1), (64, 0, 128, True, 65), (200, 0.0, 1.0, False, 1.0),
])
def test_a_cc_value_maps_linearly_onto_the_range(value: int, low: float, high: float, integer: bool,
                                                 expected: float) -> None:
    assert scaled(value, low, high, integer) == expected


def test_a_knob_picks_choices_in_equal_parts() -> None:
    choices = ("a", "b", "c", "d")
    assert [chosen(v, choices) for v in (0, 31, 32, 63, 64, 95, 96, 127)] == ["a", "a", "b", "b", "c", "c", "d", "d"]


def test_raw_bytes_parse_into_controller_messages() -> None:
    assert parse([0xB0, 70, 127]) == ControllerMessage("cc", 1, 70, 127)
    assert parse([0x99, 36, 100]) == ControllerMessage("note_on", 10, 36, 100)
    assert parse([0x90, 60, 0]) == ControllerMessage("note_off", 1, 60, 0)  # running-status note-off
    assert parse([0x83, 60, 40]) == ControllerMessage("note_off", 4, 60, 40)
    assert parse([0xF8]) is None and parse([0xE0, 0, 64]) is None and parse([0xF0, 1, 2]) is None


def test_commands_for_each_kind_of_control() -> None:
    snap = snapshot_of("piano", "drums", muted="drums")
    temperature = Binding(Source("cc", 70), "temperature")
    assert command_for(temperature, Turn(127), snap) == {"command": "sampling", "voice": "piano", "temperature": 2.0}
    assert command_for(temperature, Press(), snap) is None
    assert command_for(Binding(Source("cc", 74), "tempo"), Turn(0), snap) == {"command": "tempo", "bpm": 60.0}
    # A toggle flips what the snapshot shows: the drums are muted, so the pad unmutes them.
    assert command_for(Binding(Source("note", 40), "mute", voice="drums"), Press(), snap) == {
        "command": "mute", "voice": "drums", "muted": False}
    assert command_for(Binding(Source("note", 39), "mute"), Press(), snap) == {
        "command": "mute", "voice": "piano", "muted": True}
    assert command_for(Binding(Source("note", 37), "next"), Press(), snap) == {"command": "next"}
    groove = Binding(Source("cc", 76), "groove", choices=("funk", "jazz"))
    assert command_for(groove, Turn(127), snap) == {"command": "groove", "voice": "drums", "groove": "jazz"}
    assert command_for(groove, Press(), snap) == {"command": "groove", "voice": "drums", "groove": "funk"}
    reseed = Binding(Source("note", 43), "reseed")
    phrase = [[0.0, 60, 90, 1.0]]
    assert command_for(reseed, Press(), snap, phrase) == {"command": "reseed", "voice": "piano", "seed": phrase}
    assert command_for(reseed, Press(), snap, None) is None  # a pattern voice has no seed, no phrase yet
    named = Binding(Source("note", 43), "reseed", seed="pop909_003")
    assert command_for(named, Press(), snap)["seed"] == "pop909_003"


def test_the_record_toggle_follows_the_recording_and_previous_is_a_button(tmp_path: Path) -> None:
    from encore.engine.sinks.recorder import RecorderSink

    record = Binding(Source("note", 44), "record")
    assert command_for(record, Press(), snapshot_of("piano")) == {"command": "record", "on": True}
    sink = RecorderSink(tmp_path / "set.mid")
    try:
        engine = Engine([PatternVoice("piano", 0, [NoteEvent(0.0, 60, 90, 0.5)], 4.0)], [sink], EngineConfig())
        assert command_for(record, Press(), engine.snapshot()) == {"command": "record", "on": False}
    finally:
        sink.close()
    assert command_for(Binding(Source("note", 45), "previous"), Press(), None) == {"command": "previous"}


def test_buttons_fire_on_a_note_on_or_a_cc_rising_through_64_once() -> None:
    reader = GestureReader()
    button = [Binding(Source("cc", 20), "panic")]
    values = [0, 30, 64, 100, 127, 63, 0, 90]
    fired = [bool(reader.read(ControllerMessage("cc", 1, 20, v), button)) for v in values]
    assert fired == [False, False, True, False, False, False, False, True]
    pad = [Binding(Source("note", 36), "next")]
    assert reader.read(ControllerMessage("note_on", 1, 36, 1), pad) == [(pad[0], Press())]
    assert reader.read(ControllerMessage("note_off", 1, 36, 0), pad) == []
    knob = [Binding(Source("cc", 70), "temperature"), Binding(Source("cc", 70), "groove")]
    assert reader.read(ControllerMessage("cc", 1, 70, 5), knob) == [(knob[0], Turn(5)), (knob[1], Turn(5))]


def test_learn_binds_the_next_cc_or_note_on_to_the_chosen_control() -> None:
    learner = Learner()
    assert learner.offer(ControllerMessage("cc", 1, 21, 3)) is None  # idle: nothing is learned
    old = Binding(Source("cc", 70), "tempo", low=80.0, high=140.0)
    target = learner.start("tempo", like=old)
    assert learner.waiting == target and target.label() == "tempo"
    assert learner.offer(ControllerMessage("note_off", 10, 36, 0)) is None  # a release binds nothing
    learned = learner.offer(ControllerMessage("cc", 2, 21, 64))
    assert learned == Binding(Source("cc", 21, 2), "tempo", low=80.0, high=140.0)  # the range is kept
    assert learner.waiting is None and learner.learned == learned
    learner.start("mute", voice="drums")
    assert learner.offer(ControllerMessage("note_on", 10, 40, 99)) == Binding(Source("note", 40, 10), "mute", "drums")
    learner.start("panic")
    learner.cancel()
    assert learner.waiting is None and learner.offer(ControllerMessage("cc", 1, 1, 1)) is None
    with pytest.raises(ValueError, match="unknown control 'tempp' .controls: temperature"):
        learner.start("tempp")


def test_a_mute_command_from_the_wire_is_the_engine_command() -> None:
    from encore.engine.wire import from_dict

    data = command_for(Binding(Source("note", 39), "mute"), Press(), snapshot_of("piano"))
    assert from_dict(data) == Mute("piano", True)


def test_the_key_control_picks_a_key_for_the_piano_and_a_press_steps_on() -> None:
    from encore.engine.clock import VirtualClock
    from encore.engine.commands.key import SetKey
    from encore.engine.voices.piano import PianoVoice
    from encore.engine.voices.soft_key import KEY_NAMES
    from encore.engine.wire import from_dict
    from encore.models.piano.checkpoint import PianoBundle
    from encore.models.piano.stream import PianoStream

    piano = PianoVoice(PianoStream(PianoBundle.random("tiny"), seed=0), [NoteEvent(0.0, 60, 80, 1.0)])
    engine = Engine([piano], [MemorySink()], EngineConfig(bpm=120.0), now=VirtualClock())
    key = Binding(Source("cc", 20), "key")
    assert command_for(key, Turn(0), engine.snapshot()) == {"command": "key", "voice": "piano", "key": "off"}
    data = command_for(key, Turn(127), engine.snapshot())
    assert data == {"command": "key", "voice": "piano", "key": KEY_NAMES[-1]} and from_dict(data) == SetKey("B minor")
    assert command_for(key, Press(), engine.snapshot())["key"] == "C major"  # from off, the next choice
    engine.submit(from_dict(command_for(key, Turn(80), engine.snapshot())))
    engine.run_offline(0.1)
    assert engine.snapshot().voice("piano").key == "D minor"
    assert command_for(key, Press(), engine.snapshot())["key"] == "Eb minor"
