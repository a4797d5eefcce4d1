"""The main screen's panels: each shows one part of a `ShowSnapshot` (and the surfaces' status).

Every panel has `show(...)`, called by the app at each poll; the text of each line is built by a pure
function (`song_line`, `voice_lines`, `output_line`, `health_line`) so tests can read it directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Digits, Label, Static

from encore.engine.sinks.base import SinkStatus
from encore.engine.snapshot import ShowSnapshot, VoiceSnapshot
from encore.engine.voices.originality import ON as GUARD_ON

STATE_STYLES = {"open": "bold #00ff5f", "paused": "bold #ffd700", "off": "bold #ff5f5f", "dropped": "bold #ff5f5f",
                "closed": "#8a8a8a", "stopped": "bold #ff5f5f"}
"""Colour of each output state; anything else (`reconnecting in 2 s: ...`) is amber."""
KEY_MAP = (
    ("t/T", "temp"), ("p/P", "top-p"), ("k", "key"), ("-/+", "tempo"), ("space", "tap"), ("1-9", "voice"),
    ("m", "mute"), ("s", "solo"), ("e", "re-seed"), ("o", "seed"), ("g", "groove"), ("n/b", "song"), ("r", "rec"),
    ("l", "learn"), ("q", "quit"), ("Esc", "PANIC"),
)
"""The key map on screen, in the order the keys are listed (app.py binds them)."""


def song_line(snapshot: ShowSnapshot) -> str:
    """`song 1 intro  ▸ next 2 verse at bar 9`, or what a show without songs has."""
    if snapshot.song is None:
        return "no setlist"
    bar = snapshot.time_signature[0] * 4.0 / snapshot.time_signature[1]
    text = f"song {snapshot.song.index + 1} {snapshot.song.name}"
    after = snapshot.next_song
    if after is None:
        return text + "  ▸ last song"
    return text + f"  ▸ next {after.index + 1} {after.name} at bar {int(after.start_beat // bar) + 1}"


def voice_lines(snapshot: ShowSnapshot, selected: int) -> list[tuple[str, bool]]:
    """A header and a line per voice (`▶` marks `selected`), each with whether it is highlighted; a voice with
    an originality guard ends with `guard N` (passages rendered again) or `guard off`."""
    lines = [(f"  # {'voice':<8} {'temp':>5} {'top-p':>5}  {'seed / groove':<28} mix", False)]
    for i, voice in enumerate(snapshot.voices):
        mark = "▶" if i == selected else " "
        lines.append((f"{mark} {i + 1} {voice.name[:8]:<8} {voice.sampling.temperature:>5.2f} "
                      f"{voice.sampling.top_p:>5.2f}  {_source(voice)[:28]:<28} {_mix(voice)}{_guard(voice)}",
                      i == selected))
    return lines


def output_line(status: SinkStatus) -> tuple[str, str]:
    """One output as `name state detail` and the style of its state."""
    name = status.kind if status.kind not in ("recorder", "wav") else f"{status.kind} {status.detail.rsplit('/', 1)[-1]}"
    text = f"{name} {status.state}"
    if status.elapsed_s is not None:
        text += f" {status.elapsed_s:.0f}s"
    elif status.detail and status.state != "open":
        text += f": {status.detail}"
    return text, STATE_STYLES.get(status.state, "bold #ffaf00")


def health_line(snapshot: ShowSnapshot) -> str:
    """Lookahead, underruns, decoding speed, sender jitter p99 and notes sent, on one line."""
    speed = "-" if snapshot.decode_tokens_per_s is None else f"{snapshot.decode_tokens_per_s:.0f}"
    late = f" ({snapshot.shifted} late, {snapshot.dropped} lost)" if snapshot.underruns else ""
    behind = "BEHIND " if snapshot.strained else ""
    return (f"{behind}ahead {snapshot.lookahead_ms:.0f}/{snapshot.target_lookahead_ms:.0f} ms  "
            f"underruns {snapshot.underruns}{late}  {speed} tok/s  "
            f"jitter {snapshot.jitter_p99_ms:.2f} ms  {snapshot.notes_sent} notes")


def key_map_lines(width: int) -> list[list[tuple[str, str]]]:
    """`KEY_MAP` cut into lines of at most `width` characters, never inside an entry."""
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0
    for key, action in KEY_MAP:
        size = len(key) + 1 + len(action) + (2 if lines[-1] else 0)
        if lines[-1] and used + size > width:
            lines.append([])
            size, used = size - 2, 0
        lines[-1].append((key, action))
        used += size
    return lines


def _source(voice: VoiceSnapshot) -> str:
    if voice.groove is not None:
        return f"{voice.groove} ({voice.mode})"
    if voice.key not in (None, "off"):
        return f"{voice.key}: {voice.seed or '-'}"
    return voice.seed or "-"


def _mix(voice: VoiceSnapshot) -> str:
    flags = [flag for flag, on in (("FAILED", voice.failed), ("MUTE", voice.muted), ("SOLO", voice.soloed)) if on]
    return " ".join(flags) or ("on" if voice.audible else "off")


def _guard(voice: VoiceSnapshot) -> str:
    guard = voice.originality
    if guard is None:
        return ""
    return f"  guard {guard.rerendered}" if guard.status == GUARD_ON else "  guard off"


class Line(Static):
    """A `Static` redrawn only when its content changes, and laid out again only when its number of lines
    does (a layout pass costs the whole screen; the health line changes at every poll)."""

    _shown: Text | str | None = None

    def set(self, content: Text | str) -> None:
        """Show `content` unless it is shown already."""
        if content == self._shown:
            return
        layout = self._rows(content) != self._rows(self._shown)
        self._shown = content
        self.update(content, layout=layout)

    def _rows(self, content: Text | str | None) -> int:
        if content is None:
            return -1
        width = max(self.content_size.width, 1)
        plain = content.plain if isinstance(content, Text) else content
        return sum(max(1, -(-cell_len(line) // width)) for line in plain.split("\n"))


def set_digits(digits: Digits, value: str) -> None:
    """`digits.update(value)` unless it shows `value` already."""
    if digits.value != value:
        digits.update(value)


class Transport(Horizontal):
    """Bar:beat and tempo in large digits, and whether the show plays."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.position, self.tempo = Digits("1:1", id="position"), Digits("120.0", id="tempo")
        self.state = Line(id="state")

    def compose(self) -> ComposeResult:
        yield Label("bar\nbeat", classes="caption")
        yield self.position
        yield Label("bpm", classes="caption")
        yield self.tempo
        yield self.state

    def show(self, snapshot: ShowSnapshot) -> None:
        """Bar, beat (whole), tempo, and whether the show plays."""
        set_digits(self.position, f"{snapshot.bar}:{int(snapshot.beat)}")
        set_digits(self.tempo, f"{snapshot.tempo_bpm:.1f}")
        state = "PLAYING" if snapshot.playing else "ended" if snapshot.show_time_s > 0 else "starting"
        self.state.set(f"{state}\n{snapshot.time_signature[0]}/{snapshot.time_signature[1]}")


class Voices(Line):
    """Each voice's sampling settings, seed or groove, and mute/solo."""

    def show(self, snapshot: ShowSnapshot, selected: int) -> None:
        """Draw the voices, `selected` highlighted."""
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (line, highlighted) in enumerate(voice_lines(snapshot, selected)):
            text.append(line, style="bold #000000 on #ffd700" if highlighted else "bold" if i else "#8a8a8a")
            text.append("\n")
        text.rstrip()
        self.set(text)


class Outputs(Line):
    """The engine's outputs and the surfaces' connections, coloured by state."""

    def show(self, outputs: Sequence[SinkStatus]) -> None:
        """Draw every status on one line (wrapped at the screen's width)."""
        text = Text("out: ", style="#8a8a8a")
        for i, status in enumerate(outputs):
            line, style = output_line(status)
            text.append(("  " if i else "") + line, style=style)
        if not outputs:
            text.append("none", style=STATE_STYLES["off"])
        self.set(text)


class Health(Line):
    """Engine health: lookahead, underruns, tokens/s, jitter."""

    def show(self, snapshot: ShowSnapshot) -> None:
        """Draw the health line, red when the engine has underrun."""
        self.set(Text(health_line(snapshot), style="bold #ff5f5f" if snapshot.underruns else "#d0d0d0"))


class KeyMap(Widget):
    """The keys, always on screen, as many lines as the width needs."""

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(key_map_lines(max(self.size.width, 20))):
            if n:
                text.append("\n")
            for i, (key, action) in enumerate(line):
                text.append("  " if i else "")
                text.append(key, style="bold #000000 on #ff5f5f" if action == "PANIC" else "bold #000000 on #d0d0d0")
                text.append(f" {action}", style="#ffffff")
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(key_map_lines(max(width, 20)))
