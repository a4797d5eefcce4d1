"""The songs of a show as the engine plays them: where each starts, what changes there, `Next`.

Each song after the first has commands (its tempo, seed, sampling) applied at its start beat; the
first song's settings are the show's starting state. `Next` moves the next song (and every later
one) up to a bar line; the show ends where the last song ends. Starts are replaced as a whole
list, so a snapshot from another thread reads a consistent plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from encore.engine.control import Command, CommandError
from encore.engine.snapshot import SongSnapshot


@dataclass(frozen=True)
class SongPlan:
    """One song for the engine.

    Attributes:
        name: How surfaces name it.
        beats: Its length in quarter notes.
        commands: Applied at its start (ignored for the first song: the show starts in its state).
    """

    name: str
    beats: float
    commands: tuple[Command, ...] = ()


class SongSchedule:
    """The songs in order, their start beats, and how many have started (had their commands applied).

    Args:
        songs: The songs; at least one.
    """

    def __init__(self, songs: Sequence[SongPlan]) -> None:
        if not songs:
            raise ValueError("a song schedule needs at least one song")
        self.songs = list(songs)
        starts, beat = [], 0.0
        for song in self.songs:
            starts.append(beat)
            beat += song.beats
        self.starts: list[float] = starts
        self.applied = 0

    @property
    def end_beat(self) -> float:
        """Where the last song ends."""
        return self.starts[-1] + self.songs[-1].beats

    @property
    def last_applied_start(self) -> float:
        """Start beat of the last song whose commands were applied."""
        return self.starts[self.applied]

    def index_at(self, beat: float) -> int:
        """The song sounding at `beat` (of songs starting together, the last)."""
        starts = self.starts
        return max(i for i, start in enumerate(starts) if start <= beat or i == 0)

    def at(self, beat: float) -> tuple[SongSnapshot, SongSnapshot | None]:
        """The song at `beat` and the one after it (None at the last)."""
        starts = self.starts
        index = self.index_at(beat)
        following = index + 1
        after = SongSnapshot(following, self.songs[following].name, starts[following]) if following < len(starts) else None
        return SongSnapshot(index, self.songs[index].name, starts[index]), after

    def due(self, horizon: float) -> list[tuple[float, SongPlan]]:
        """Songs not started yet whose start is at or before `horizon`, marked started, with their starts."""
        due = []
        while self.applied + 1 < len(self.songs) and self.starts[self.applied + 1] <= horizon:
            self.applied += 1
            due.append((self.starts[self.applied], self.songs[self.applied]))
        return due

    def next_target(self, bar_line: float) -> int:
        """The song `Next` jumps to at `bar_line`: the one after the song sounding there.

        Raises:
            CommandError: if that song is the last.
        """
        index = self.index_at(bar_line)
        if index + 1 >= len(self.songs):
            raise CommandError(f"next: song {index + 1} ({self.songs[index].name}) is the last")
        return index + 1

    def jump(self, target: int, bar_line: float) -> None:
        """Start song `target` at `bar_line`, every later song moved by as much."""
        shift = bar_line - self.starts[target]
        self.starts = [start + shift if i >= target else start for i, start in enumerate(self.starts)]
