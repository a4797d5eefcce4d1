"""The live piano roll: each voice's recent notes drawn with half blocks, the playhead at the right edge.

`roll_lines` is the pure drawing (notes in, lines of text out); `PianoRoll` is the widget that shows
it for every voice of a snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.widget import Widget

from encore.engine.clock import bar_beats
from encore.engine.note_log import Note
from encore.engine.snapshot import ShowSnapshot

BLOCKS = np.array([" ", "▀", "▄", "█"])
"""A character by its half cells: 1 the upper, 2 the lower, 3 both."""
LABEL_WIDTH = 8
NOTE_STYLE = "bold #00ff9f"
MUTED_STYLE = "#5f5f5f"
LABEL_STYLE = "bold #ffffff"
RULER_STYLE = "#8a8a8a"
MIN_SPAN = 12
"""The pitch range drawn is at least an octave."""


def roll_lines(notes: Sequence[Note], start_beat: float, end_beat: float, width: int, rows: int) -> list[str]:
    """`notes` between `start_beat` and `end_beat` drawn into `rows` lines of `width` characters.

    Time runs left to right (a column is `(end - start) / width` beats); pitch bottom to top over the
    notes' own range (at least an octave), two pitch steps per line (upper and lower half blocks).
    """
    if width <= 0 or rows <= 0 or end_beat <= start_beat:
        return [" " * max(width, 0) for _ in range(max(rows, 0))]
    visible = [note for note in notes if note[0] < end_beat and note[0] + note[3] > start_beat]
    grid = np.zeros((2 * rows, width), np.uint8)  # half cells, top to bottom
    if visible:
        low = min(note[1] for note in visible)
        high = max(max(note[1] for note in visible), low + MIN_SPAN - 1)
        per_column = (end_beat - start_beat) / width
        for onset, pitch, _velocity, duration in visible:
            row = round((high - pitch) * (2 * rows - 1) / (high - low))
            first = max(int((onset - start_beat) / per_column), 0)
            last = min(max(math.ceil((onset + duration - start_beat) / per_column) - 1, first), width - 1)
            grid[row, first:last + 1] = 1
    cells = BLOCKS[grid[0::2] + 2 * grid[1::2]]
    return ["".join(line) for line in cells]


class PianoRoll(Widget):
    """The last `bars` bars of every voice, one band of lines per voice, bar lines marked above.

    Args:
        bars: How many bars to show.
    """

    def __init__(self, bars: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.bars = bars
        self._snapshot: ShowSnapshot | None = None
        self._seen: tuple[object, ...] = ()

    def show(self, snapshot: ShowSnapshot) -> None:
        """Draw `snapshot`'s notes at the next refresh, if anything visible changed (the playhead moved a
        column, a note came or went, a voice was muted): most polls change nothing the roll shows."""
        self._snapshot = snapshot
        width = max(self.size.width - LABEL_WIDTH, 1)
        column = int(snapshot.beats * width / (self.bars * bar_beats(*snapshot.time_signature)))
        seen = (column, tuple((len(v.recent_notes), v.recent_notes[-1:], v.audible) for v in snapshot.voices))
        if seen != self._seen:
            self._seen = seen
            self.refresh()

    def render(self) -> Text:
        snapshot = self._snapshot
        width, height = self.size.width - LABEL_WIDTH, self.size.height
        if snapshot is None or width <= 0 or not snapshot.voices or height <= 1:
            return Text("piano roll: waiting for the show", style=RULER_STYLE)
        bar = bar_beats(*snapshot.time_signature)
        end = max(snapshot.beats, 0.0)
        start = end - self.bars * bar
        text = Text(no_wrap=True, overflow="crop")
        text.append(" " * LABEL_WIDTH + _ruler(start, end, width, bar) + "\n", style=RULER_STYLE)
        rows = max((height - 1) // len(snapshot.voices), 1)
        for voice in snapshot.voices:
            style = NOTE_STYLE if voice.audible else MUTED_STYLE
            for i, line in enumerate(roll_lines(voice.recent_notes, start, end, width, rows)):
                label = voice.name[: LABEL_WIDTH - 1] if i == 0 else ""
                text.append(f"{label:<{LABEL_WIDTH}}", style=LABEL_STYLE)
                text.append(line + "\n", style=style)
        text.rstrip()
        return text


def _ruler(start: float, end: float, width: int, bar: float) -> str:
    """A line marking the bar lines between `start` and `end` with `|` and their bar numbers."""
    cells = [" "] * width
    per_column = (end - start) / width
    first = int(start // bar) + 1
    for number in range(max(first, 1), int(end // bar) + 2):
        column = int(((number - 1) * bar - start) / per_column)
        if 0 <= column < width:
            label = f"|{number}"
            for k, char in enumerate(label[: width - column]):
                cells[column + k] = char
    return "".join(cells)
