"""Controller mappings: which CC or note drives which control, and how phrases are captured; TOML files.

    name = "My controller"

    [capture]                 # phrases played on the keyboard become the next seed
    voice = "piano"           # the voice they re-prime
    arm = "button"            # "button": the `capture` control arms and ends a phrase; "silence": always armed
    silence_s = 2.0           # a phrase ends this long after the last key is released
    min_notes = 2             # shorter phrases are dropped
    # channel = 1             # only notes on this channel (1-16) are captured; default: any unbound note

    [[binding]]
    cc = 70                   # or: note = 36
    # channel = 1             # 1-16; default: any channel
    control = "temperature"   # a name in `encore.stage.controllers.controls.CONTROLS`
    min = 0.1                 # range controls: CC 0 gives `min`, CC 127 `max` (linear; min > max reverses)
    max = 2.0
    # voice = "piano"         # controls that drive a voice; default: the control's own
    # choices = ["funk", "rock"]  # choice controls (`groove`, `groove_mode`)
    # seed = "pop909_003"     # `reseed`: a seed name in the setlist's folder, or a path

A bad file raises `MappingError` with one line naming the file, the line and the field.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from encore.engine.control import CommandError
from encore.engine.wire import from_payload
from encore.models.errors import EncoreError
from encore.stage.controllers.controls import CONTROLS, ControlSpec, scaled
from encore.stage.controllers.messages import ControllerMessage

DEFAULT_MAPPING = Path(__file__).resolve().parent / "mappings" / "generic-8-knob.toml"
"""The shipped mapping, loaded when `--controller-map` names none."""
ARM_MODES = ("button", "silence")
MIDI_MAX = 127

SourceKind = Literal["cc", "note"]


class MappingError(EncoreError):
    """A mapping file that cannot be used; the message is `FILE:LINE: where: what`, one line."""


@dataclass(frozen=True)
class Source:
    """What a controller sends: a control change or a note, on one channel or any.

    Attributes:
        kind: `cc` or `note`.
        number: Controller number or note, 0-127.
        channel: 1-16; None matches every channel.
    """

    kind: SourceKind
    number: int
    channel: int | None = None

    def matches(self, message: ControllerMessage) -> bool:
        """Whether `message` comes from this source."""
        return ((self.kind == "cc") == (message.kind == "cc") and self.number == message.number
                and self.channel in (None, message.channel))

    def label(self) -> str:
        """`CC 70`, `note 36 ch 10`: how a screen names it."""
        channel = f" ch {self.channel}" if self.channel is not None else ""
        return f"{'CC' if self.kind == 'cc' else 'note'} {self.number}{channel}"


@dataclass(frozen=True)
class Binding:
    """A source bound to a control, with the control's settings for it.

    Attributes:
        source: The CC or note.
        control: The control's name (`CONTROLS`).
        voice: The voice it drives (None: the control's default).
        low: Value at CC 0 for a range control (None: the control's default).
        high: Value at CC 127 for a range control (None: the control's default).
        choices: A choice control's choices (empty: the control's default).
        seed: `reseed`'s seed (None: the voice's last seed, or the last phrase captured).
    """

    source: Source
    control: str
    voice: str | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    seed: str | None = None

    def range(self, spec: ControlSpec) -> tuple[float, float]:
        """The range a knob sweeps: this binding's, else the control's."""
        return (spec.low if self.low is None else self.low, spec.high if self.high is None else self.high)

    def options(self, spec: ControlSpec) -> tuple[str, ...]:
        """A choice control's choices: this binding's, else the control's."""
        return self.choices or spec.choices

    def label(self) -> str:
        """`temperature (piano)`: the control and the voice it drives."""
        voice = self.voice or CONTROLS[self.control].voice
        return f"{self.control} ({voice})" if voice and CONTROLS[self.control].takes_voice else self.control


@dataclass(frozen=True)
class CaptureSettings:
    """How notes played on the input become a phrase (`encore.stage.controllers.phrase`).

    Attributes:
        voice: The voice a finished phrase re-primes.
        arm: `button`: the `capture` control arms capture, and ends it; `silence`: capture is always armed,
            a phrase being the notes between two silences of `silence_s`.
        silence_s: A phrase ends this many seconds after its last key is released.
        min_notes: Phrases with fewer notes are dropped.
        channel: Only notes on this channel (1-16) are performer notes; None: any note no binding takes.
    """

    voice: str = "piano"
    arm: str = "button"
    silence_s: float = 2.0
    min_notes: int = 2
    channel: int | None = None


@dataclass(frozen=True)
class ControllerMap:
    """A controller's bindings and the phrase capture settings."""

    name: str = ""
    bindings: tuple[Binding, ...] = ()
    capture: CaptureSettings = field(default_factory=CaptureSettings)

    def bound(self, message: ControllerMessage) -> list[Binding]:
        """The bindings `message` drives (none: a note is a performer's note, a CC is ignored)."""
        return [binding for binding in self.bindings if binding.source.matches(message)]

    def with_binding(self, binding: Binding) -> ControllerMap:
        """A copy where `binding` replaces whatever its source drove and wherever its control was bound.

        What learn mode does: the knob moved now drives the control, and only that.
        """
        def same_target(other: Binding) -> bool:
            return other.control == binding.control and other.label() == binding.label()

        kept = tuple(b for b in self.bindings if not _same_source(b.source, binding.source) and not same_target(b))
        return replace(self, bindings=(*kept, binding))


def _same_source(a: Source, b: Source) -> bool:
    """Whether two sources overlap (a source on any channel overlaps each channel's)."""
    return a.kind == b.kind and a.number == b.number and (a.channel is None or b.channel is None or a.channel == b.channel)


def load_mapping(path: Path) -> ControllerMap:
    """The mapping in a TOML file.

    Raises:
        MappingError: `FILE:LINE: where: what` for an unreadable file, bad TOML, an unknown key or
            control, a value of the wrong type or out of range.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: cannot read the mapping: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise MappingError(f"{path}:{found.group(1) if found else 1}: not valid TOML: {error}") from None
    return parse_mapping(data, lambda section, key: f"{path}:{_line_of(text, section, key)}")


def parse_mapping(data: Mapping[str, Any], where: Callable[[str | int | None, str | None], str]) -> ControllerMap:
    """A mapping from parsed TOML; `where(section, key)` says where a key is (`FILE:LINE`) for errors.

    A section is None (the top level), `"capture"`, or a binding's index from 0.

    Raises:
        MappingError: as `load_mapping`.
    """
    reader = _Reader(where)
    reader.keys(data, None, ("name", "capture", "binding"))
    name = reader.text(data, None, "name", None) or ""
    capture = reader.capture(data.get("capture", {}))
    bindings = data.get("binding", [])
    if not isinstance(bindings, list) or not all(isinstance(b, Mapping) for b in bindings):
        raise MappingError(f"{where(None, 'binding')}: binding: must be [[binding]] tables")
    return ControllerMap(name, tuple(reader.binding(b, i) for i, b in enumerate(bindings)), capture)


def to_toml(mapping: ControllerMap) -> str:
    """The TOML text of `mapping` (what `load_mapping` reads back as an equal mapping)."""
    capture = mapping.capture
    lines = ["# Encore controller mapping: encore play --midi-in PORT --controller-map FILE"]
    if mapping.name:
        lines.append(f"name = {_quoted(mapping.name)}")
    lines += ["", "[capture]", f"voice = {_quoted(capture.voice)}", f"arm = {_quoted(capture.arm)}",
              f"silence_s = {capture.silence_s!r}", f"min_notes = {capture.min_notes}"]
    if capture.channel is not None:
        lines.append(f"channel = {capture.channel}")
    for binding in mapping.bindings:
        source = binding.source
        lines += ["", "[[binding]]", f"{source.kind} = {source.number}"]
        if source.channel is not None:
            lines.append(f"channel = {source.channel}")
        lines.append(f"control = {_quoted(binding.control)}")
        for key, value in (("voice", binding.voice), ("min", binding.low), ("max", binding.high),
                           ("seed", binding.seed)):
            if value is not None:
                lines.append(f"{key} = {_quoted(value) if isinstance(value, str) else repr(value)}")
        if binding.choices:
            lines.append(f"choices = [{', '.join(_quoted(choice) for choice in binding.choices)}]")
    return "\n".join(lines) + "\n"


def save_mapping(mapping: ControllerMap, path: Path) -> None:
    """Write `mapping` to `path` as TOML (whole or not at all: written beside it, then moved).

    Raises:
        MappingError: if the file cannot be written.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(to_toml(mapping), encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        raise MappingError(f"{path}: cannot write the mapping: {error.strerror or error}") from None


class _Reader:
    """Checks parsed TOML field by field, raising `MappingError` at the first problem."""

    BINDING_KEYS = ("cc", "note", "channel", "control", "voice", "min", "max", "choices", "seed")
    CAPTURE_KEYS = ("voice", "arm", "silence_s", "min_notes", "channel")

    def __init__(self, where: Callable[[str | int | None, str | None], str]) -> None:
        self.where = where

    def fail(self, section: str | int | None, key: str | None, message: str) -> MappingError:
        """`FILE:LINE: [capture: | binding N: ][key: ]message` (bindings counted from 1, as a reader counts)."""
        place = f"binding {section + 1}: " if isinstance(section, int) else f"{section}: " if section else ""
        return MappingError(f"{self.where(section, key)}: {place}{key + ': ' if key else ''}{message}")

    def keys(self, table: Mapping[str, Any], section: str | int | None, known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                raise self.fail(section, key, f"unknown field (fields: {', '.join(known)})")

    def text(self, table: Mapping[str, Any], section: str | int | None, key: str, default: str | None) -> str | None:
        value = table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(section, key, f"must be a non-empty string, got {value!r}")
        return value

    def integer(self, table: Mapping[str, Any], section: str | int | None, key: str, low: int, high: int) -> int | None:
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise self.fail(section, key, f"must be a whole number {low}-{high}, got {value!r}")
        return value

    def number(self, table: Mapping[str, Any], section: str | int | None, key: str) -> float | None:
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            raise self.fail(section, key, f"must be a number, got {value!r}")
        return None if value is None else float(value)

    def capture(self, table: object) -> CaptureSettings:
        if not isinstance(table, Mapping):
            raise self.fail(None, "capture", "must be a [capture] table")
        self.keys(table, "capture", self.CAPTURE_KEYS)
        defaults = CaptureSettings()
        arm = self.text(table, "capture", "arm", defaults.arm)
        if arm not in ARM_MODES:
            raise self.fail("capture", "arm", f"must be one of {', '.join(ARM_MODES)}, got {arm!r}")
        silence = self.number(table, "capture", "silence_s")
        if silence is not None and not 0.1 <= silence <= 60.0:
            raise self.fail("capture", "silence_s", f"must be between 0.1 and 60 seconds, got {silence!r}")
        min_notes = self.integer(table, "capture", "min_notes", 1, 4096)
        return CaptureSettings(
            voice=self.text(table, "capture", "voice", defaults.voice) or defaults.voice, arm=arm or defaults.arm,
            silence_s=defaults.silence_s if silence is None else silence,
            min_notes=defaults.min_notes if min_notes is None else min_notes,
            channel=self.integer(table, "capture", "channel", 1, 16),
        )

    def binding(self, table: Mapping[str, Any], index: int) -> Binding:
        self.keys(table, index, self.BINDING_KEYS)
        cc, note = self.integer(table, index, "cc", 0, MIDI_MAX), self.integer(table, index, "note", 0, MIDI_MAX)
        if (cc is None) == (note is None):
            raise self.fail(index, None, "needs exactly one of cc = 0-127 or note = 0-127")
        source = Source("cc" if cc is not None else "note", cc if cc is not None else note,  # type: ignore[arg-type]
                        self.integer(table, index, "channel", 1, 16))
        control = table.get("control")
        if control not in CONTROLS:
            raise self.fail(index, "control", f"unknown control {control!r} (controls: {', '.join(CONTROLS)})")
        spec = CONTROLS[control]
        binding = Binding(source, control, self.text(table, index, "voice", None), self.number(table, index, "min"),
                          self.number(table, index, "max"), self.choices(table, index), self.text(table, index, "seed", None))
        self.fits(binding, spec, index)
        return binding

    def choices(self, table: Mapping[str, Any], index: int) -> tuple[str, ...]:
        value = table.get("choices", [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.fail(index, "choices", "must be a list of names")
        return tuple(value)

    def fits(self, binding: Binding, spec: ControlSpec, index: int) -> None:
        """The binding's settings are ones its control takes, and give commands the engine accepts."""
        unused = [(key, value) for key, value, kind in (
            ("voice", binding.voice, spec.takes_voice), ("min", binding.low, spec.kind == "range"),
            ("max", binding.high, spec.kind == "range"), ("choices", binding.choices, spec.kind == "choice"),
            ("seed", binding.seed, spec.field == "seed")) if value not in (None, ()) and not kind]
        if unused:
            raise self.fail(index, unused[0][0], f"control {spec.name!r} takes no {unused[0][0]}")
        checks: list[tuple[str, Any]] = []
        if spec.kind == "range":
            low, high = binding.range(spec)
            checks = [("min", scaled(0, low, high, spec.integer)), ("max", scaled(MIDI_MAX, low, high, spec.integer))]
        elif spec.kind == "choice":
            checks = [("choices", choice) for choice in binding.options(spec)]
        for key, value in checks:
            try:
                from_payload(spec.command, {spec.field: value})
            except CommandError as error:
                raise self.fail(index, key, str(error)) from None


def _quoted(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


_HEADER = re.compile(r"^\s*\[\s*(\[)?\s*([A-Za-z0-9_\-\"]+)\s*\]")


def _line_of(text: str, section: str | int | None, key: str | None) -> int:
    """The line (from 1) where `key` is set in `section` (see `parse_mapping`); its header if not found."""
    current: str | int | None = None
    bindings = -1
    header_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip('"')
            if header.group(1) and name == "binding":
                bindings += 1
                current = bindings
            else:
                current = name
            if current == section:
                header_line = number
            continue
        if current == section and key is not None and re.match(rf'^\s*"?{re.escape(key)}"?\s*=', line):
            return number
    return header_line
