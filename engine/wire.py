"""The wire format of every command: JSON-safe dicts shared by the UI, MQTT and controller mappings.

    {"command": "tempo", "bpm": 100}
    {"command": "sampling", "voice": "piano", "temperature": 0.9, "top_p": 0.95}
    {"command": "mute", "voice": "drums", "muted": true}        # "muted" defaults to true
    {"command": "solo", "voice": "piano", "soloed": false}
    {"command": "reseed", "voice": "piano", "seed": "pop909_003"}  # a name in the setlist's seeds/, a path,
    {"command": "reseed", "seed": [[0.0, 60, 90, 1.0], ...]}      # or a phrase: [onset_beats, pitch, velocity, duration_beats]
    {"command": "groove", "mode": "pattern", "pattern": {"kick": [0, 8, 16, 24]}}
    {"command": "next"}   {"command": "previous"}   {"command": "panic"}   {"command": "stop"}
    {"command": "record", "on": false}                          # "on" defaults to true
    {"command": "performer", "mode": "duet"}                     # off, call-response, duet, drums-follow
    {"command": "note", "pitch": 60, "velocity": 90, "beat": 12.5}   # a performer's key; velocity 0 releases it
    {"command": "respond"}                                       # call and response: the piano answers now
    {"command": "key", "key": "D minor", "strength": -2.0}       # the piano leans to a key; "off" lets go

Nothing here names a command: each declares its wire name and its fields' JSON kinds
(`encore.engine.control`), and `command_types()` finds them all. An MQTT topic names the command
(`encore/<stage>/control/tempo`), so `from_payload("tempo", {...})` takes the fields alone. Every
problem (not JSON, too big, not an object, an unknown command or field, a wrong type, a value out of
range) raises `CommandError` with a one-line message; ranges are checked by the command's own
`check_values`, the same validation the engine applies.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from encore.engine.control import Command, CommandError, command_types
from encore.models.notes import NoteEvent

MAX_PAYLOAD_BYTES = 64 * 1024
"""A JSON payload longer than this is refused before it is parsed."""
MAX_PHRASE_NOTES = 4096
MAX_TEXT = 1024
"""Longest name or path accepted."""
SEEDS_FOLDER = "seeds"
MIDI_SUFFIXES = (".mid", ".midi")


def command_names() -> list[str]:
    """Every command's wire name, alphabetically."""
    return list(command_types())


@functools.cache
def wire_fields(command_type: type[Command]) -> dict[str, tuple[str, bool]]:
    """A command's fields on the wire: name -> (JSON kind, required); `voice` first (which voice, then
    what), the others in the order the class declares them."""
    fields = {field.name: (field.metadata["wire"], field.default is dataclasses.MISSING)
              for field in dataclasses.fields(command_type)}
    return {name: fields[name] for name in sorted(fields, key=lambda name: name != "voice")}


def to_dict(command: Command) -> dict[str, Any]:
    """A JSON-safe dict of `command`: `{"command": name, field: value, ...}`, fields left as None omitted."""
    name = command.wire_name if isinstance(command, Command) else None
    if name is None:
        raise CommandError(f"not a command: {type(command).__name__}")
    data: dict[str, Any] = {"command": name}
    for field in wire_fields(type(command)):
        value = getattr(command, field)
        if value is None:
            continue
        if field == "seed":
            value = str(value) if isinstance(value, Path) else [
                [note.onset_beats, note.pitch, note.velocity, note.duration_beats] for note in value]
        elif field == "pattern":
            value = {drum: list(steps) for drum, steps in value.items()}
        data[field] = value
    return data


def to_json(command: Command) -> str:
    """`to_dict` as compact JSON text."""
    return json.dumps(to_dict(command), separators=(",", ":"))


def from_dict(data: object, seeds: Path | None = None) -> Command:
    """The command `data` describes, checked (`check_values`).

    Args:
        data: `{"command": name, ...fields}`.
        seeds: The setlist's folder: a seed given by name is looked for there and in its `seeds/`.

    Raises:
        CommandError: what is wrong, in one line.
    """
    if not isinstance(data, Mapping):
        raise CommandError(f"a command must be a JSON object, got {_kind(data)}")
    name = data.get("command")
    if not isinstance(name, str):
        raise CommandError(f"command: missing or not a name (commands: {', '.join(command_names())})")
    return from_payload(name, {key: value for key, value in data.items() if key != "command"}, seeds)


def from_payload(name: object, payload: object, seeds: Path | None = None) -> Command:
    """The command called `name` (an MQTT topic's last part) with the fields in `payload`.

    Raises:
        CommandError: what is wrong, in one line.
    """
    types = command_types()
    if not isinstance(name, str) or name not in types:
        raise CommandError(f"unknown command {_short(name)} (commands: {', '.join(types)})")
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise CommandError(f"{name}: the fields must be a JSON object, got {_kind(payload)}")
    fields = wire_fields(types[name])
    for key in payload:
        if key not in fields:
            known = ", ".join(fields) or "none"
            raise CommandError(f"{name}: unknown field {_short(key)} (fields: {known})")
    for key, (_, required) in fields.items():
        if required and payload.get(key) is None:
            raise CommandError(f"{name}: missing field {key!r}")
    values = {key: _field(f"{name}.{key}", kind, payload[key], seeds)
              for key, (kind, _) in fields.items() if key in payload and payload[key] is not None}
    command = types[name](**values)
    try:
        command.check_values()
    except CommandError as error:
        raise CommandError(f"{name}.{error}") from None
    return command


def from_json(text: str | bytes, name: str | None = None, seeds: Path | None = None) -> Command:
    """A command from JSON text: a whole command, or (with `name`) the fields of command `name`.

    Raises:
        CommandError: for text over `MAX_PAYLOAD_BYTES`, text that is not JSON, or any `from_dict` problem.
    """
    if len(text) > MAX_PAYLOAD_BYTES:
        raise CommandError(f"payload too large: {len(text)} bytes (at most {MAX_PAYLOAD_BYTES})")
    try:
        data = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise CommandError(f"not valid JSON: {_short(str(error).splitlines()[0] if str(error) else error)}") from None
    return from_dict(data, seeds) if name is None else from_payload(name, data, seeds)


def resolve_seed(text: str, seeds: Path | None) -> Path:
    """A seed named in a payload: an absolute path as is; else, under `seeds` (the setlist's folder),
    the first that exists of `text`, `seeds/text` and both with `.mid` added; else `seeds/text[.mid]`
    (the engine's check then says it does not exist)."""
    path = Path(text)
    try:
        if path.is_absolute():
            return path
        if seeds is None:
            return path.resolve()
        names = [text] if path.suffix.lower() in MIDI_SUFFIXES else [text, text + ".mid"]
        candidates = [seeds / name for name in names] + [seeds / SEEDS_FOLDER / name for name in names]
        found = next((candidate for candidate in candidates if candidate.is_file()), candidates[-1])
        return found.resolve()
    except (OSError, RuntimeError, ValueError) as error:
        raise CommandError(f"seed: cannot use {_short(text)} as a file name ({type(error).__name__})") from None


def _field(where: str, kind: str, value: Any, seeds: Path | None) -> Any:
    if kind in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CommandError(f"{where}: must be a number, got {_kind(value)}")
        if not math.isfinite(value):
            raise CommandError(f"{where}: must be a finite number")
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise CommandError(f"{where}: must be a whole number, got {value!r}")
            return int(value)
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise CommandError(f"{where}: must be true or false, got {_kind(value)}")
        return value
    if kind == "name":
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            raise CommandError(f"{where}: must be a non-empty string of at most {MAX_TEXT} characters")
        return value
    if kind == "seed":
        if isinstance(value, str):
            if not value or len(value) > MAX_TEXT or "\0" in value:
                raise CommandError(f"{where}: must be a seed name or path of at most {MAX_TEXT} characters")
            return resolve_seed(value, seeds)
        return _phrase(where, value)
    return _pattern(where, value)


def _phrase(where: str, value: Any) -> tuple[NoteEvent, ...]:
    if not isinstance(value, list) or not value:
        raise CommandError(f"{where}: must be a seed name, a path or a list of notes [onset, pitch, velocity, duration]")
    if len(value) > MAX_PHRASE_NOTES:
        raise CommandError(f"{where}: at most {MAX_PHRASE_NOTES} notes, got {len(value)}")
    notes = []
    for i, note in enumerate(value):
        if not isinstance(note, list) or len(note) != 4:
            raise CommandError(f"{where}[{i}]: must be [onset_beats, pitch, velocity, duration_beats]")
        onset = _field(f"{where}[{i}][0]", "number", note[0], None)
        pitch = _field(f"{where}[{i}][1]", "int", note[1], None)
        velocity = _field(f"{where}[{i}][2]", "int", note[2], None)
        duration = _field(f"{where}[{i}][3]", "number", note[3], None)
        notes.append(NoteEvent(onset, pitch, velocity, duration))
    return tuple(notes)


def _pattern(where: str, value: Any) -> dict[str, tuple[int, ...]]:
    if not isinstance(value, Mapping):
        raise CommandError(f"{where}: must be an object of drum name to 16th steps, got {_kind(value)}")
    pattern = {}
    for drum, steps in value.items():
        if not isinstance(steps, list) or len(steps) > 32:
            raise CommandError(f"{where}.{_short(drum, 40)}: must be a list of at most 32 steps")
        pattern[str(drum)] = tuple(_field(f"{where}.{_short(drum, 40)}", "int", step, None) for step in steps)
    return pattern


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _short(value: object, limit: int = 60) -> str:
    """`value` quoted for a message, on one line and cut to `limit` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
