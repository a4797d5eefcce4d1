"""What each key means for the engine: pure functions from the latest snapshot to a command.

The UI never changes the show itself: these build the commands it submits (the same dataclasses MQTT
and MIDI controllers send), and `describe` turns any command result into the status line's text.
"""

from __future__ import annotations

from encore.engine.clock import bar_beats
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.control import Command
from encore.engine.results import CommandResult
from encore.engine.snapshot import ShowSnapshot, VoiceSnapshot
from encore.engine.wire import to_dict
from encore.models.notes import NoteEvent

MIN_PHRASE_BEATS = 1e-3
"""A note cut at the window's end keeps at least this length."""


def sampling_step(voice: VoiceSnapshot, field: str, delta: float) -> SetSampling:
    """`field` (`temperature` or `top_p`) of `voice` moved by `delta`, rounded to hundredths."""
    value = round(getattr(voice.sampling, field) + delta, 2)
    return SetSampling(voice.name, **{field: value})


def tempo_step(bpm: float, delta_bpm: float) -> SetTempo:
    """`bpm` moved by `delta_bpm`, rounded to a tenth."""
    return SetTempo(round(bpm + delta_bpm, 1))


def last_bars_phrase(snapshot: ShowSnapshot, voice: VoiceSnapshot, bars: int) -> tuple[NoteEvent, ...]:
    """The notes `voice` sent in the `bars` whole bars before the current one, as a phrase from 0.

    Onsets keep their place in the bar (the window starts at a bar line); notes are cut at the window's end.
    """
    bar = bar_beats(*snapshot.time_signature)
    end = (snapshot.bar - 1) * bar
    start = end - bars * bar
    return tuple(
        NoteEvent(onset - start, pitch, velocity, max(min(duration, end - onset), MIN_PHRASE_BEATS))
        for onset, pitch, velocity, duration in voice.recent_notes
        if start <= onset < end
    )


def describe(result: CommandResult) -> str:
    """One line for the status line: `✓ tempo bpm=100`, `✗ mute voice=bass: voice: no voice named 'bass' ...`,
    or `✗ next: song 3 (outro) is the last` (a reason naming the command already stands alone)."""
    what = summary(result.command)
    if result.ok:
        return f"✓ {what}"
    return f"✗ {result.reason}" if result.reason.startswith(f"{what.split()[0]}:") else f"✗ {what}: {result.reason}"


def summary(command: Command) -> str:
    """A command in a few words (its wire name and fields; a phrase seed as its note count)."""
    data = to_dict(command)
    name = data.pop("command")
    if isinstance(data.get("seed"), list):
        data["seed"] = f"phrase ({len(data['seed'])} notes)"
    elif isinstance(data.get("seed"), str):
        data["seed"] = data["seed"].rsplit("/", 1)[-1]
    fields = " ".join(f"{key}={_short(value)}" for key, value in data.items())
    return f"{name} {fields}".strip()


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)

