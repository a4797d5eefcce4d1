"""Where things are in a TOML file: the line of each table header and each key, for error messages.

`tomllib` gives values without positions, so the text is scanned once for `[table]`, `[[array]]`
headers and `key =` lines. A table is addressed by its path with array indices, as the parsed data
is: `("songs", 1)` is the second `[[songs]]`, `("songs", 1, "drums")` the `[songs.drums]` under it.

    lines = TomlLines(text)
    lines.line(("songs", 1), "tempo")   # the line of `tempo = ...` in the second [[songs]]
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


class TomlLines:
    """Line numbers (from 1) of the table headers and keys in a TOML text.

    Args:
        text: The file's text.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[Path, str | None], int] = {}
        self._arrays: dict[tuple[str, ...], int] = {}
        table: Path = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header is not None:
                table = self._open(header.group(1) == "[[", _names(header.group(2)))
                self._lines.setdefault((table, None), number)
                continue
            key = _KEY.match(line)
            if key is not None:
                names = _names(key.group(1))
                for depth in range(1, len(names) + 1):  # a dotted key also names its tables
                    self._lines.setdefault(((*table, *names[:depth - 1]), names[depth - 1]), number)

    def line(self, table: Path, key: str | None = None) -> int | None:
        """The line of `key` in `table` (None: of the table's header), or of the header of a table `key`;
        else of the nearest enclosing thing found (an inline table's key, the table's header), else None."""
        while True:
            probes = ((table, key), ((*table, key), None), (table, None)) if key is not None else ((table, None),)
            for probe in probes:
                if probe in self._lines:
                    return self._lines[probe]
            if not table:
                return None
            if isinstance(table[-1], int):  # an element of an array of tables: the array's key
                table, key = table[:-2], str(table[-2])
            else:
                table, key = table[:-1], table[-1]

    def _open(self, is_array: bool, names: list[str]) -> Path:
        """The path of a header, counting `[[array]]` elements; a table inside an array follows its last element."""
        path: list[str | int] = []
        for depth, name in enumerate(names, start=1):
            path.append(name)
            prefix = tuple(names[:depth])
            if is_array and depth == len(names):
                self._arrays[prefix] = self._arrays.get(prefix, -1) + 1
                path.append(self._arrays[prefix])
            elif prefix in self._arrays:
                path.append(self._arrays[prefix])
        return tuple(path)


def _names(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in dotted.split(".")]
