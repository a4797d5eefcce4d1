"""From a setlist's TOML tables to its dataclasses, every mistake one line a performer can act on.

Each error names the file, the line and the song or table, the field, the rule and the value found:

    setlists/ballad.toml:14: song 2 ("Night"): tempo must be between 20 and 400 bpm, got "fast"

The dataclasses check their own values in `__post_init__` and raise `ValueError("field: must ...")`;
the reader adds where, which value, and turns type mismatches and unknown or missing fields into
the same kind of message.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from encore.engine.toml_lines import Path as TablePath
from encore.engine.toml_lines import TomlLines
from encore.models.errors import EncoreError

KINDS = {int: "a whole number", float: "a number", str: "text in quotes", bool: "true or false", dict: "a table"}
"""How a value's expected type is named to a performer."""


class SetlistError(EncoreError):
    """A setlist that cannot be played: one line naming the file, the line, the place and the field."""


class SetlistReader:
    """Builds a setlist's dataclasses from its parsed tables, locating every error in the text.

    Args:
        path: The setlist file (as the performer named it: messages quote it so).
        text: Its text.
        raw: Its parsed tables (`tomllib.loads(text)`).
    """

    def __init__(self, path: Path, text: str, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.lines = TomlLines(text)

    def error(self, table: TablePath, key: str | None, message: str) -> SetlistError:
        """A `SetlistError` for `key` of `table` (None: the table itself; dotted: a key of a table in it):
        `file:line: place: message`."""
        *inner, last = key.split(".") if key is not None else [None]
        line = self.lines.line((*table, *inner), last)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        place = self.place(table)
        return SetlistError(" ".join(f"{where}: {place + ': ' if place else ''}{message}".split()))

    def place(self, table: TablePath) -> str:
        """How a performer names a table: `song 2 ("Night")`, `[drums]`, `song 1 ("Intro") drums`."""
        if len(table) >= 2 and table[0] == "songs" and isinstance(table[1], int):
            inner = " ".join(str(part) for part in table[2:])
            return f"{self.song_label(table[1])}{' ' + inner if inner else ''}"
        return f"[{'.'.join(str(part) for part in table)}]" if table else ""

    def song_label(self, index: int) -> str:
        """`song N ("name")`: the name given, else the seed's file name, else just `song N`."""
        songs = self.raw.get("songs")
        song = songs[index] if isinstance(songs, list) and index < len(songs) else {}
        name = song.get("name") if isinstance(song, dict) else None
        seed = song.get("seed") if isinstance(song, dict) else None
        if not isinstance(name, str) or not name:
            name = Path(seed).stem if isinstance(seed, str) and seed else ""
        return f"song {index + 1}" + (f" ({json.dumps(name)})" if name else "")

    def build(self, cls: type[Any], value: Any, table: TablePath, required: str = "") -> Any:
        """`cls(**value)` for the TOML table `value` at `table`, every field's type and value checked.

        Args:
            required: What to say when a field without a default is missing (how to fill it in).

        Raises:
            SetlistError: for the first unknown, missing, mistyped or out-of-range field.
        """
        if not isinstance(value, dict):
            raise self.error(table, None, f"must be a table, got {shown(value)}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in value:
            if key not in fields:
                raise self.error(table, key, f"unknown field {json.dumps(key)} (fields: {', '.join(fields)})")
        for name, f in fields.items():
            if name not in value and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.error(table, None, f"{name} is missing{': ' + required if required else ''}")
        values = {key: self._typed(item, hints[key], table, key) for key, item in value.items()}
        try:
            return cls(**values)
        except ValueError as error:
            field, _, rule = str(error).partition(": ")
            key = field.split(".")[0]
            got = f", got {shown(value[key])}" if field in value and "got" not in rule else ""
            join = " " if rule.startswith("must") else ": "
            raise self.error(table, field if key in value else None, f"{field}{join}{rule}{got}") from None

    def _typed(self, value: Any, hint: Any, table: TablePath, key: str) -> Any:
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if value is None and type(None) in options:  # set by the reader itself (`bars = "until next"`)
            return None
        for option in options:
            if option is type(None):
                continue
            if dataclasses.is_dataclass(option) and isinstance(value, dict):
                return self.build(option, value, (*table, key))
            if option is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, typing.get_origin(option) or option) and (option is bool or not isinstance(value, bool)):
                return value
        kinds = " or ".join(KINDS.get(typing.get_origin(o) or o, "a table") for o in options if o is not type(None))
        raise self.error(table, key, f"{key} must be {kinds}, got {shown(value)}")


def shown(value: Any) -> str:
    """A value as the performer wrote it in TOML: `"fast"`, `true`, `12`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)
