"""Controller mappings: the shipped file, TOML round trips, one-line errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.stage.controllers.controls import CONTROLS, Press, Turn, command_for
from encore.stage.controllers.mapping import (
    DEFAULT_MAPPING,
    Binding,
    CaptureSettings,
    ControllerMap,
    MappingError,
    Source,
    load_mapping,
    save_mapping,
    to_toml,
)
from encore.stage.controllers.messages import ControllerMessage


def test_the_shipped_mapping_has_eight_knobs_on_cc_70_to_77_and_pads_on_channel_10() -> None:
    mapping = load_mapping(DEFAULT_MAPPING)
    knobs = [b for b in mapping.bindings if b.source.kind == "cc"]
    pads = [b for b in mapping.bindings if b.source.kind == "note"]
    assert [b.source.number for b in knobs] == list(range(70, 78))
    assert all(b.source.channel is None for b in knobs)
    assert [b.source.number for b in pads] == list(range(36, 44)) and {b.source.channel for b in pads} == {10}
    assert knobs[0].control == "temperature" and knobs[0].range(CONTROLS["temperature"]) == (0.1, 2.0)
    assert knobs[4].control == "tempo" and knobs[4].range(CONTROLS["tempo"]) == (60.0, 180.0)
    assert "capture" in {b.control for b in pads} and mapping.capture.arm == "button"
    # Every binding makes a command the wire format takes, at both ends of a knob.
    from encore.engine.wire import from_dict

    for binding in mapping.bindings:
        for gesture in (Turn(0), Turn(127), Press()):
            data = command_for(binding, gesture, None, [[0.0, 60, 90, 1.0]])
            if data is not None and data["command"] is not None:
                from_dict(data)


def test_a_mapping_round_trips_through_toml(tmp_path: Path) -> None:
    mapping = ControllerMap(
        name='Pads "A" & knobs',
        bindings=(
            Binding(Source("cc", 21), "temperature", voice="piano", low=0.2, high=1.5),
            Binding(Source("cc", 22, 3), "tempo", low=180.0, high=60.0),
            Binding(Source("note", 40, 10), "mute", voice="drums"),
            Binding(Source("cc", 23), "groove", choices=("funk", "jazz")),
            Binding(Source("note", 41), "reseed", seed="pop909_003"),
            Binding(Source("cc", 24), "repetition_window"),
        ),
        capture=CaptureSettings(voice="piano", arm="silence", silence_s=1.5, min_notes=4, channel=2),
    )
    path = tmp_path / "mine.toml"
    save_mapping(mapping, path)
    assert load_mapping(path) == mapping
    assert to_toml(load_mapping(path)) == path.read_text(encoding="utf-8")
    shipped = load_mapping(DEFAULT_MAPPING)
    save_mapping(shipped, tmp_path / "shipped.toml")
    assert load_mapping(tmp_path / "shipped.toml") == shipped


GOOD_BINDING = '[[binding]]\ncc = 70\ncontrol = "temperature"\n'


@pytest.mark.parametrize(("text", "line", "message"), [
    (GOOD_BINDING + '\n[[binding]]\ncc = 71\ncontrol = "tempp"\n', 7,
     "binding 2: control: unknown control 'tempp' (controls: temperature, top_p,"),
    (GOOD_BINDING + "cc = 71\n", 4, "not valid TOML: Cannot overwrite a value (at line 4,"),
    (GOOD_BINDING + '\n[[binding]]\nnote = 200\ncontrol = "next"\n', 6, "binding 2: note: must be a whole number 0-127, got 200"),
    ('[[binding]]\ncc = 1\nnote = 2\ncontrol = "next"\n', 1, "binding 1: needs exactly one of cc = 0-127 or note = 0-127"),
    ('[[binding]]\ncontrol = "next"\n', 1, "binding 1: needs exactly one of"),
    ('[[binding]]\ncc = 1\nchannel = 17\ncontrol = "next"\n', 3, "binding 1: channel: must be a whole number 1-16, got 17"),
    (GOOD_BINDING + "min = -1.0\n", 4, "binding 1: min: sampling.temperature: must be in [0, 5]"),
    (GOOD_BINDING + 'max = "hot"\n', 4, "binding 1: max: must be a number, got 'hot'"),
    ('[[binding]]\ncc = 1\ncontrol = "tempo"\nvoice = "piano"\n', 4, "binding 1: voice: control 'tempo' takes no voice"),
    ('[[binding]]\ncc = 1\ncontrol = "next"\nmin = 1\n', 4, "binding 1: min: control 'next' takes no min"),
    ('[[binding]]\ncc = 1\ncontrol = "groove_mode"\nchoices = ["library", "swing"]\n', 4,
     "binding 1: choices: groove.mode: must be one of library, pattern, follow-piano, got 'swing'"),
    ('[[binding]]\ncc = 1\ncontrol = "mute"\nknob = 3\n', 4, "binding 1: knob: unknown field (fields: cc, note,"),
    ('name = "x"\n[capture]\narm = "always"\n', 3, "capture: arm: must be one of button, silence, got 'always'"),
    ('[capture]\nsilence_s = 0\n', 2, "capture: silence_s: must be between 0.1 and 60 seconds, got 0.0"),
    ('colour = "red"\n', 1, "colour: unknown field (fields: name, capture, binding)"),
    ('binding = 3\n', 1, "binding: must be [[binding]] tables"),
])
def test_a_bad_mapping_file_gives_one_line_naming_file_line_and_field(
        tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    error = str(caught.value)
    assert "\n" not in error
    assert error.startswith(f"{path}:{line}: {message}"), error


def test_a_missing_mapping_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"^.*nope\.toml: cannot read the mapping: No such file or directory$"):
        load_mapping(tmp_path / "nope.toml")


def test_bindings_match_their_source_and_channel() -> None:
    mapping = ControllerMap(bindings=(Binding(Source("cc", 70), "temperature"),
                                      Binding(Source("note", 36, 10), "capture")))
    assert [b.control for b in mapping.bound(ControllerMessage("cc", 5, 70, 3))] == ["temperature"]
    assert mapping.bound(ControllerMessage("note_on", 10, 70, 3)) == []
    assert [b.control for b in mapping.bound(ControllerMessage("note_off", 10, 36, 0))] == ["capture"]
    assert mapping.bound(ControllerMessage("note_on", 1, 36, 90)) == []  # a key on another channel: a played note


def test_a_learned_binding_replaces_what_its_source_drove_and_where_its_control_was() -> None:
    mapping = ControllerMap(bindings=(Binding(Source("cc", 70), "temperature"), Binding(Source("cc", 71), "top_p"),
                                      Binding(Source("cc", 72), "temperature", voice="drums")))
    learned = mapping.with_binding(Binding(Source("cc", 71, 1), "temperature"))
    # CC 71 now drives the piano's temperature only; CC 70 no longer does; the drums' knob stays.
    assert [(b.source.number, b.label()) for b in learned.bindings] == [
        (72, "temperature (drums)"), (71, "temperature (piano)")]
