"""The wire format: every command round-trips through JSON; junk is one `CommandError` in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encore.engine.commands.groove import SetGroove
from encore.engine.commands.jump import Next
from encore.engine.commands.key import SetKey
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic, Stop
from encore.engine.control import CommandError, command_types
from encore.engine.wire import (
    MAX_PAYLOAD_BYTES,
    from_dict,
    from_json,
    from_payload,
    to_dict,
    to_json,
    wire_fields,
)
from encore.models.groove.drum_map import DRUM_NAMES
from encore.models.notes import NoteEvent

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
voices = st.sampled_from(["piano", "drums", "keys", "ünï"]) | names
maybe = lambda strategy: st.none() | strategy  # noqa: E731


def real(low: float, high: float, **kwargs: bool) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, **kwargs)


notes = st.builds(NoteEvent, real(0, 1000), st.integers(0, 127), st.integers(1, 127), real(0, 64, exclude_min=True))
commands = st.one_of(
    st.builds(SetTempo, real(20, 400)),
    st.builds(SetSampling, maybe(voices), maybe(real(0, 5)), maybe(real(0, 1, exclude_min=True)),
              maybe(real(0, 1, exclude_max=True)), maybe(real(0.01, 10)), maybe(st.integers(0, 128))),
    st.builds(Mute, voices, st.booleans()),
    st.builds(Solo, voices, st.booleans()),
    st.builds(Reseed, st.builds(lambda parts: Path("/", *parts), st.lists(st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True), min_size=1, max_size=3)), voices),
    st.builds(Reseed, st.lists(notes, min_size=1, max_size=20).map(tuple), voices),
    st.builds(SetGroove, maybe(st.sampled_from(["library", "pattern", "follow-piano"])), maybe(names),
              maybe(st.dictionaries(st.sampled_from(DRUM_NAMES), st.lists(st.integers(0, 31), max_size=8))), voices),
    st.builds(SetKey, st.sampled_from(["off", "D minor", "F# major", "bb minor", "C major"]), real(-20, 0), voices),
    st.just(Next()), st.just(Panic()), st.just(Stop()),
)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_every_command_round_trips_through_a_dict_and_json(command: object) -> None:
    data = to_dict(command)
    assert json.loads(json.dumps(data)) == data  # JSON-safe as is
    assert from_dict(data) == command
    assert from_json(to_json(command)) == command
    fields = {key: value for key, value in data.items() if key != "command"}
    assert from_payload(data["command"], fields) == command  # the MQTT form: the topic names the command


def test_every_command_type_has_a_wire_name_and_fields() -> None:
    types = command_types()
    assert {"tempo", "sampling", "mute", "solo", "reseed", "groove", "next", "previous", "record", "panic", "stop",
            "performer", "note", "respond", "key"} <= set(types)
    for name, command_type in types.items():
        assert command_type.wire_name == name
        assert all(kind for kind, _ in wire_fields(command_type).values())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(sorted({field for command_type in command_types().values()
                                     for field in wire_fields(command_type)} | {"command", "bmp", ""}))
junk_commands = st.fixed_dictionaries(
    {"command": st.sampled_from([*command_types(), "Tempo", "jump", ""]) | json_values},
    optional={"voice": json_values, "bpm": json_values},
).flatmap(lambda base: st.dictionaries(field_names, json_values, max_size=4).map(lambda extra: {**extra, **base}))


def _one_error_or_a_command(call: object) -> None:
    try:
        command = call()  # type: ignore[operator]
    except CommandError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 400, message
    else:
        assert type(command) in command_types().values()


@settings(max_examples=600, deadline=None)
@given(st.one_of(json_values, junk_commands))
def test_junk_is_one_command_error_in_one_line_never_anything_else(data: object) -> None:
    _one_error_or_a_command(lambda: from_dict(data))
    try:
        text = json.dumps(data)
    except ValueError:
        return
    _one_error_or_a_command(lambda: from_json(text))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_junk_bytes_and_text_are_one_command_error(raw: bytes | str) -> None:
    _one_error_or_a_command(lambda: from_json(raw))
    _one_error_or_a_command(lambda: from_json(raw, "tempo"))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"command": "jump"}', "unknown command 'jump' (commands: groove, key, mute, next, note, panic, performer, previous, record, reseed, "
         "respond, sampling, solo, stop, tempo)"),
        ('{"command": "key", "key": "H minor"}', 'key.key: must be a tonic and a mode like "D minor" or "F# major", or "off", got \'H minor\''),
        ('{"command": "key", "key": "D minor", "strength": 2}', "key.strength: must be a number of nats from -20 to 0, got 2.0"),
        ('{"bpm": 100}', "command: missing or not a name"),
        ('{"command": "tempo", "bmp": 100}', "tempo: unknown field 'bmp' (fields: bpm)"),
        ('{"command": "tempo"}', "tempo: missing field 'bpm'"),
        ('{"command": "tempo", "bpm": "fast"}', "tempo.bpm: must be a number, got a string"),
        ('{"command": "tempo", "bpm": true}', "tempo.bpm: must be a number, got a boolean"),
        ('{"command": "tempo", "bpm": 1000}', "tempo.bpm: must be between 20 and 400, got 1000.0"),
        ('{"command": "tempo", "bpm": NaN}', "tempo.bpm: must be a finite number"),
        ('{"command": "sampling", "voice": "piano", "temperature": 9}', "sampling.temperature: must be in [0, 5]"),
        ('{"command": "sampling", "repetition_window": 2.5}', "sampling.repetition_window: must be a whole number"),
        ('{"command": "mute", "voice": "piano", "muted": "yes"}', "mute.muted: must be true or false, got a string"),
        ('{"command": "reseed", "seed": [[0, 60, 0, 1]]}', "reseed.seed[0].velocity: must be an integer 1-127"),
        ('{"command": "reseed", "seed": [[0, 60]]}', "reseed.seed[0]: must be [onset_beats, pitch, velocity, duration_beats]"),
        ('{"command": "groove", "pattern": {"cowbell": [1]}}', "groove.pattern.cowbell: unknown drum"),
        ('{"command": "groove", "pattern": {"kick": [32]}}', "groove.pattern.kick: steps must be integers 0-31"),
        ('{"command": "groove", "mode": "samba"}', "groove.mode: must be one of library, pattern, follow-piano"),
        ('{"command": "stop", "now": true}', "stop: unknown field 'now' (fields: none)"),
        ("[1, 2]", "a command must be a JSON object, got a list"),
        ('{"command": "tempo", "bpm": 1', "not valid JSON"),
        ("[" * 30000 + "]" * 30000, "not valid JSON"),
        ('{"command": "reseed", "seed": "' + "x" * (MAX_PAYLOAD_BYTES + 1) + '"}', "payload too large"),
    ],
)
def test_each_problem_has_a_clear_one_line_message(payload: str, message: str) -> None:
    with pytest.raises(CommandError) as raised:
        from_json(payload)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_a_payload_on_a_command_topic_names_the_command() -> None:
    assert from_json('{"bpm": 100}', "tempo") == SetTempo(100.0)
    assert from_json("", "next") == Next() and from_json("{}", "panic") == Panic()
    assert from_json('{"voice": "piano", "temperature": 0.9, "top_p": 0.95}', "sampling") == SetSampling(
        "piano", temperature=0.9, top_p=0.95)
    assert from_json('{"voice": "drums"}', "mute") == Mute("drums", True)


def test_a_seed_by_name_or_path_is_found_in_the_setlists_folder(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "ballad.mid").write_bytes(b"MThd")
    (tmp_path / "mine.mid").write_bytes(b"MThd")
    expected = (tmp_path / "seeds" / "ballad.mid").resolve()
    for text in ("ballad", "ballad.mid", "seeds/ballad.mid", str(expected)):
        assert from_payload("reseed", {"seed": text}, tmp_path) == Reseed(expected), text
    assert from_payload("reseed", {"seed": "mine"}, tmp_path).seed == (tmp_path / "mine.mid").resolve()
    # A name found nowhere points into seeds/; the engine's check then says the file does not exist.
    assert from_payload("reseed", {"seed": "nope"}, tmp_path).seed == (tmp_path / "seeds" / "nope.mid").resolve()


def test_the_wire_format_finds_every_command_without_importing_torch() -> None:
    """`encore send` checks a payload before it publishes: that must not wait for torch to load."""
    import subprocess
    import sys

    code = ("import sys; from encore.engine.wire import command_names, from_json; names = command_names(); "
            "from_json('{\"command\": \"key\", \"key\": \"D minor\"}'); print(len(names), 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == [str(len(command_types())), "False"], result.stderr
