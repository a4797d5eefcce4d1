"""What a knob, fader, pad or key can drive: the controls table, and a gesture turned into a wire command.

Every control but `capture` produces a command in the engine's wire format (`encore.engine.wire`), so
a controller goes through the same validation and `show.submit` as the terminal UI and MQTT.

| control | kind | command | a knob (CC value 0-127) | a press (note-on, or CC rising to >= 64) |
| --- | --- | --- | --- | --- |
| `temperature`, `top_p`, `min_p`, `repetition_penalty`, `repetition_window` | range | `sampling` | sets the value, linear over `min`..`max` | - |
| `tempo` | range | `tempo` | sets bpm, linear over `min`..`max` | - |
| `mute`, `solo` | toggle | `mute`, `solo` | - | flips the voice's state (read from the snapshot) |
| `record` | toggle | `record` | - | pauses or resumes the show's recording (read from the snapshot) |
| `next`, `previous`, `panic`, `stop` | button | same | - | sends it |
| `reseed` | button | `reseed` | - | re-primes with `seed` (default: the voice's last seed, or the last phrase captured) |
| `groove`, `groove_mode` | choice | `groove` | picks one of `choices` (the range cut in equal parts) | steps to the next choice |
| `key` | choice | `key` | picks the key the piano leans to (default: `off` and the 24 keys) | steps to the next choice |
| `capture` | local | - | - | arms, or ends, phrase capture (`encore.stage.controllers.phrase`) |

A note bound to a range control sets it from its velocity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from encore.engine.voices.drums import MODES
from encore.engine.voices.soft_key import KEY_NAMES

if TYPE_CHECKING:
    from encore.engine.snapshot import ShowSnapshot
    from encore.stage.controllers.mapping import Binding

ControlKind = Literal["range", "toggle", "button", "choice", "local"]
MIDI_MAX = 127
GROOVE_STYLES = ("rock", "funk", "jazz", "pop", "hiphop", "latin", "soul", "reggae")
"""The default choices of the `groove` control: library styles (`encore.models.groove.library`)."""


@dataclass(frozen=True)
class ControlSpec:
    """One control.

    Attributes:
        name: Its name in mapping files.
        kind: `range` (a knob sets a value), `toggle`, `button`, `choice` or `local` (the surface's own).
        command: The wire command it sends (None for `local`).
        field: The wire field its value goes into (None for buttons).
        low: Default lowest value of a range (CC 0).
        high: Default highest value of a range (CC 127).
        integer: A range of whole numbers.
        voice: The voice it drives by default; None: it takes no voice, or (sampling) every voice.
        takes_voice: Whether a binding may name a voice.
        choices: Default choices of a `choice` control.
        help: One line for listings and the UI.
    """

    name: str
    kind: ControlKind
    command: str | None
    field: str | None = None
    low: float = 0.0
    high: float = 1.0
    integer: bool = False
    voice: str | None = None
    takes_voice: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


def _sampling(name: str, low: float, high: float, help: str, integer: bool = False) -> ControlSpec:
    return ControlSpec(name, "range", "sampling", name, low, high, integer, "piano", True, help=help)


CONTROLS: dict[str, ControlSpec] = {spec.name: spec for spec in (
    _sampling("temperature", 0.1, 2.0, "sampling temperature"),
    _sampling("top_p", 0.5, 1.0, "nucleus size"),
    _sampling("min_p", 0.0, 0.3, "minimum probability relative to the top token"),
    _sampling("repetition_penalty", 1.0, 2.0, "penalty on recently played pitches"),
    _sampling("repetition_window", 0, 128, "how many recent pitches the penalty sees", integer=True),
    ControlSpec("tempo", "range", "tempo", "bpm", 60.0, 180.0, help="tempo in bpm"),
    ControlSpec("mute", "toggle", "mute", "muted", voice="piano", takes_voice=True, help="mute or unmute a voice"),
    ControlSpec("solo", "toggle", "solo", "soloed", voice="piano", takes_voice=True, help="solo or unsolo a voice"),
    ControlSpec("record", "toggle", "record", "on", help="pause or resume the show's recording"),
    ControlSpec("next", "button", "next", help="next song at the next bar line"),
    ControlSpec("previous", "button", "previous", help="the song before, at the next bar line"),
    ControlSpec("panic", "button", "panic", help="silence everything now, keep playing"),
    ControlSpec("stop", "button", "stop", help="end the show"),
    ControlSpec("reseed", "button", "reseed", "seed", voice="piano", takes_voice=True,
                help="re-prime a voice with a seed at its next bar line"),
    ControlSpec("groove", "choice", "groove", "groove", voice="drums", takes_voice=True, choices=GROOVE_STYLES,
                help="the drums' groove (a library groove or style)"),
    ControlSpec("groove_mode", "choice", "groove", "mode", voice="drums", takes_voice=True, choices=MODES,
                help="the drums' mode: library, pattern or follow-piano"),
    ControlSpec("key", "choice", "key", "key", voice="piano", takes_voice=True, choices=KEY_NAMES,
                help="the key the piano leans to (off: none)"),
    ControlSpec("capture", "local", None, help="arm or end phrase capture (the phrase becomes the next seed)"),
)}


@dataclass(frozen=True)
class Turn:
    """A knob or fader moved to `value` (0-127), or a key struck with that velocity."""

    value: int


@dataclass(frozen=True)
class Press:
    """A button pressed: a note-on, or a CC rising to `BUTTON_THRESHOLD` or above."""


Gesture = Turn | Press


def scaled(value: int, low: float, high: float, integer: bool = False) -> float | int:
    """A 0-127 controller value mapped linearly onto `low`..`high` (rounded to 3 decimals, or whole)."""
    exact = low + (high - low) * min(max(value, 0), MIDI_MAX) / MIDI_MAX
    return round(exact) if integer else round(exact, 3)


def chosen(value: int, choices: tuple[str, ...]) -> str:
    """The choice a 0-127 value falls on, the range cut in `len(choices)` equal parts."""
    return choices[min(len(choices) - 1, min(max(value, 0), MIDI_MAX) * len(choices) // (MIDI_MAX + 1))]


def command_for(binding: Binding, gesture: Gesture, snapshot: ShowSnapshot | None,
                last_phrase: list[list[float]] | None = None) -> dict[str, Any] | None:
    """The wire command (`{"command": ..., fields}`) `gesture` on `binding` asks for; None if it asks nothing.

    Args:
        binding: The binding the gesture came through.
        gesture: A knob turned or a button pressed.
        snapshot: The show now (a toggle flips the state it shows; a choice steps on from it).
        last_phrase: The last phrase captured, in wire form (what `reseed` sends when it names no seed and
            the voice last primed with a phrase).
    """
    spec = CONTROLS[binding.control]
    voice = binding.voice or spec.voice
    data: dict[str, Any] = {"command": spec.command}
    if spec.takes_voice and voice is not None:
        data["voice"] = voice
    match spec.kind, gesture:
        case "range", Turn(value=value):
            low, high = binding.range(spec)
            data[spec.field] = scaled(value, low, high, spec.integer)
        case "toggle", Press():
            data[spec.field] = not _toggle_state(spec, snapshot, voice)
        case "button", Press():
            if spec.field == "seed":
                seed = binding.seed or _current_seed(snapshot, voice, last_phrase)
                if seed is None:
                    return None
                data["seed"] = seed
        case "choice", Turn(value=value):
            data[spec.field] = chosen(value, binding.options(spec))
        case "choice", Press():
            data[spec.field] = _next_choice(binding.options(spec), _voice_state(snapshot, voice, spec.field))
        case _:
            return None
    return data


def _toggle_state(spec: ControlSpec, snapshot: ShowSnapshot | None, voice: str | None) -> bool:
    """Whether a toggle is on now: the voice's flag, or (`record`) whether a recording is being written."""
    if not spec.takes_voice:
        return snapshot is not None and any(out.kind == "recorder" and out.state == "open" for out in snapshot.outputs)
    return bool(_voice_state(snapshot, voice, spec.field))


def _voice_state(snapshot: ShowSnapshot | None, voice: str | None, field: str | None) -> Any:
    """What the snapshot shows for `voice`'s `field` (`muted`, `soloed`, `groove`, `mode`); None if unknown."""
    if snapshot is None or voice is None or field is None:
        return None
    try:
        return getattr(snapshot.voice(voice), field, None)
    except KeyError:
        return None


def _current_seed(snapshot: ShowSnapshot | None, voice: str | None,
                  last_phrase: list[list[float]] | None) -> str | list[list[float]] | None:
    seed = _voice_state(snapshot, voice, "seed")
    if isinstance(seed, str) and not seed.startswith("phrase ("):
        return seed
    return last_phrase


def _next_choice(choices: tuple[str, ...], current: Any) -> str:
    if current in choices:
        return choices[(choices.index(current) + 1) % len(choices)]
    return choices[0]
