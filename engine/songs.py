"""The songs of a show as the engine plays them: where each starts, what changes there, `Next`, crossfades.

Each song after the first has commands (its tempo, seed, sampling, drums) applied at its start beat;
the first song's settings are the show's starting state. `Next` moves the next song (and every later
one) up to a bar line; the show ends where the last song ends. A song that plays until `Next` has
no length (`beats` is infinite), so every song after it starts at infinity until `Next` places it.
Starts are replaced as a whole list, so a snapshot from another thread reads a consistent plan.

A song with a `Crossfade` glides into its settings instead of switching at once: from its start,
over `crossfade.beats`, the tempo (a step every beat) and each voice's sampling settings (a step every
`crossfade.sampling_step_beats`, a bar) move in equal steps from the song sounding before it (the last
one started) to its own, and the velocities of the `crossfade.voices` rise from `FADE_FROM` of their
value to the full value (docs/engine.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.control import Command, CommandError
from encore.engine.snapshot import SongSnapshot
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

FADE_FROM = 0.5
"""A crossfade's voices start at this fraction of their velocities and rise to the full value."""


@dataclass(frozen=True)
class Crossfade:
    """How a song fades in over the song before it.

    Attributes:
        beats: Length of the glide, from the song's start.
        voices: The voices whose velocities ramp up over it (the ones re-seeded at its start).
        sampling_step_beats: Sampling settings move once per this many beats (a bar: each change
            makes a voice render its lookahead again, so once a beat would cost the piano too much).
    """

    beats: float
    voices: tuple[str, ...] = ()
    sampling_step_beats: float = 4.0


@dataclass(frozen=True)
class SongPlan:
    """One song for the engine.

    Attributes:
        name: How surfaces name it.
        beats: Its length in quarter notes (`math.inf`: until `Next`).
        commands: Applied at its start (ignored for the first song: the show starts in its state).
        tempo: Its tempo, if the schedule sets it (at its start, or gliding there in a crossfade).
        sampling: Each voice's sampling settings the schedule sets, the same way.
        crossfade: How it fades in (None: it cuts in at its start).
    """

    name: str
    beats: float
    commands: tuple[Command, ...] = ()
    tempo: float | None = None
    sampling: tuple[tuple[str, SamplingConfig], ...] = ()
    crossfade: Crossfade | None = None


@dataclass(frozen=True)
class Cue:
    """Commands the engine applies at one beat: a song's start, or one step of its crossfade."""

    commands: tuple[Command, ...]


class SongSchedule:
    """The songs in order, their start beats, and how many have started (had their commands applied).

    Args:
        songs: The songs; at least one.
    """

    def __init__(self, songs: Sequence[SongPlan]) -> None:
        if not songs:
            raise ValueError("a song schedule needs at least one song")
        self.songs = list(songs)
        self.starts: list[float] = _starts(self.songs, 0, 0.0, [])
        self.applied = 0
        self._last = self.songs[0]
        self._steps: list[tuple[float, Cue]] = []
        self._jump: tuple[float, SongSnapshot] | None = None  # the last jump's bar line, the song sounding until it

    @property
    def end_beat(self) -> float:
        """Where the last song ends (infinite while a song before it plays until `Next`)."""
        return self.starts[-1] + self.songs[-1].beats

    @property
    def last_applied_start(self) -> float:
        """Start beat of the last song whose commands were applied."""
        return self.starts[max(self.applied, 0)]

    def index_at(self, beat: float) -> int:
        """The song sounding at `beat` (of songs starting together, the last)."""
        starts = self.starts
        return max(i for i, start in enumerate(starts) if start <= beat or i == 0)

    def at(self, beat: float) -> tuple[SongSnapshot, SongSnapshot | None]:
        """The song at `beat` and the one after it (None at the last)."""
        starts = self.starts
        if self._jump is not None and beat < self._jump[0]:  # a jump (back, too) is waiting for its bar line
            bar_line, sounding = self._jump
            target = self.index_at(bar_line)
            return sounding, SongSnapshot(target, self.songs[target].name, bar_line)
        index = self.index_at(beat)
        following = index + 1
        after = SongSnapshot(following, self.songs[following].name, starts[following]) if following < len(starts) else None
        return SongSnapshot(index, self.songs[index].name, starts[index]), after

    def due(self, horizon: float) -> list[tuple[float, Cue]]:
        """Commands due at or before `horizon`, with their beats: the starts of songs not started yet
        (marked started) and the crossfade steps of started songs."""
        while self.applied + 1 < len(self.songs) and self.starts[self.applied + 1] <= horizon:
            self.applied += 1
            song, start = self.songs[self.applied], self.starts[self.applied]
            self._steps += _song_cues(self._last, song, start)
            self._last = song
        due = [(beat, cue) for beat, cue in self._steps if beat <= horizon]
        self._steps = [(beat, cue) for beat, cue in self._steps if beat > horizon]
        return due

    def commands_due(self, horizon: float) -> list[tuple[float, Command]]:
        """`due`'s commands one by one, each with its beat."""
        return [(beat, command) for beat, cue in self.due(horizon) for command in cue.commands]

    def next_target(self, bar_line: float, step: int = 1) -> int:
        """The song `Next` (step 1) or `Previous` (step -1) jumps to at `bar_line`, from the song sounding there.

        Raises:
            CommandError: if there is no song after (or before) it.
        """
        index = self.index_at(bar_line)
        if index + step >= len(self.songs):
            raise CommandError(f"next: song {index + 1} ({self.songs[index].name}) is the last")
        if index + step < 0:
            raise CommandError(f"previous: song 1 ({self.songs[0].name}) is the first")
        return index + step

    def jump(self, target: int, bar_line: float) -> None:
        """Start song `target` at `bar_line`, every later song following it (a song jumped back to
        starts again: its commands are due again). A crossfade still under way is abandoned."""
        sounding = self.at(bar_line)[0]
        self.starts = _starts(self.songs, target, bar_line, self.starts[:target])
        self._jump = (bar_line, sounding)
        self.applied = min(self.applied, target - 1)
        self._steps = []

    def shape(self, voice: str, notes: list[NoteEvent]) -> list[NoteEvent]:
        """`notes` of `voice` with a crossfade's velocity ramp applied where one is under way."""
        return [self._faded(voice, note) for note in notes]

    def _faded(self, voice: str, note: NoteEvent) -> NoteEvent:
        index = self.index_at(note.onset_beats)
        fade, start = self.songs[index].crossfade, self.starts[index]
        if index == 0 or fade is None or voice not in fade.voices or not start <= note.onset_beats < start + fade.beats:
            return note
        scale = FADE_FROM + (1.0 - FADE_FROM) * (note.onset_beats - start) / fade.beats
        return replace(note, velocity=max(1, round(note.velocity * scale)))


def _starts(songs: Sequence[SongPlan], first: int, beat: float, before: list[float]) -> list[float]:
    """Start beats: `before` for the songs before `first`, then `first` at `beat` and each after the one before."""
    starts = list(before)
    for song in songs[first:]:
        starts.append(beat)
        beat += song.beats
    return starts


def _song_cues(previous: SongPlan, song: SongPlan, start: float) -> list[tuple[float, Cue]]:
    """What `song` applies from `start`: its commands, and its settings at once or as crossfade steps."""
    fade = song.crossfade
    if fade is None:
        return [(start, Cue(song.commands + _settings(song.tempo, song.sampling)))]
    cues = [(start, Cue(song.commands))]
    steps = max(1, math.ceil(fade.beats))
    for k in range(steps):
        tempo = song.tempo
        if tempo is not None and previous.tempo is not None:
            tempo = previous.tempo + (tempo - previous.tempo) * (k + 1) / steps
        cues.append((start + k, Cue(_settings(tempo, ()))))
    steps = max(1, math.ceil(fade.beats / fade.sampling_step_beats))
    before = dict(previous.sampling)
    for k in range(steps):
        sampling = tuple((voice, _between(before.get(voice, config), config, (k + 1) / steps))
                         for voice, config in song.sampling)
        cues.append((start + k * fade.sampling_step_beats, Cue(_settings(None, sampling))))
    return cues


def _settings(tempo: float | None, sampling: tuple[tuple[str, SamplingConfig], ...]) -> tuple[Command, ...]:
    commands: list[Command] = [] if tempo is None else [SetTempo(tempo)]
    return tuple(commands + [SetSampling.to(voice, config) for voice, config in sampling])


def _between(old: SamplingConfig, new: SamplingConfig, fraction: float) -> SamplingConfig:
    """Settings `fraction` of the way from `old` to `new` (whole numbers stay whole)."""
    values = {}
    for f in fields(SamplingConfig):
        a, b = getattr(old, f.name), getattr(new, f.name)
        value = a + (b - a) * fraction
        values[f.name] = round(value) if isinstance(b, int) else value
    return SamplingConfig(**values)
