"""Setlists: a TOML file naming the voices and the songs of a show, validated into dataclasses.

    title = "Demo"
    [show]
    time_signature = "4/4"
    [piano]                          # the piano voice (optional if there is another voice)
    checkpoint = "default"           # "default", "tiny" (random weights: tests) or a folder
    [click]                          # a click track (optional)
    [drums]                          # the groove VAE (optional; 4/4 only)
    checkpoint = "factorized"        # a shipped groove model (baseline, factorized, aux, aux11) or a folder
    mode = "follow-piano"            # "library", "pattern" or "follow-piano"
    groove = "funk"                  # a library groove name (funk-102) or a style
    channel = 10                     # every channel counts 1-16, as General MIDI does (10: drums)
    [[songs]]                        # played in order; each starts on a bar line
    name = "Opening"                 # how surfaces name it (default: the seed's file name, or "song N")
    seed = "seeds/pop909_003.mid"    # relative to the setlist
    tempo = 100
    temperature = 1.0
    bars = 16

Every problem is reported as one `SetlistError` naming the field, e.g. `songs[0].tempo`.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido

from encore.engine.clock import bar_beats, beats_to_seconds, parse_time_signature
from encore.engine.control import MAX_BPM, MIN_BPM
from encore.engine.voices.drums import DEFAULT_GROOVE, DrumPart
from encore.models.errors import EncoreError, SeedError
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig


class SetlistError(EncoreError):
    """A setlist that cannot be played: names the file and the field."""


@dataclass(frozen=True)
class ShowSettings:
    """Settings of the whole show."""

    time_signature: str = "4/4"
    lookahead_bars: float = 1.0

    def __post_init__(self) -> None:
        try:
            parse_time_signature(self.time_signature)
        except EncoreError as error:
            raise ValueError(f"time_signature: {error}") from error
        if not 0 < self.lookahead_bars <= 8:
            raise ValueError("lookahead_bars: must be in (0, 8]")


PIANO_WEIGHTS = ("auto", "fp32", "int8")
"""`auto`: int8 on the CPU (BENCHMARKS.md: faster, same held-out loss), bf16 on CUDA."""


@dataclass(frozen=True)
class PianoSettings:
    """The piano voice."""

    checkpoint: str = "default"
    channel: int = 1
    program: int = 0
    sampling_seed: int = 0
    torch_threads: int = 1
    weights: str = "auto"

    def __post_init__(self) -> None:
        _check_midi_numbers(self.channel, self.program)
        if self.torch_threads < 1:
            raise ValueError("torch_threads: must be at least 1")
        if self.weights not in PIANO_WEIGHTS:
            raise ValueError(f"weights: must be one of {', '.join(PIANO_WEIGHTS)}")


@dataclass(frozen=True)
class ClickSettings:
    """A click track (metronome) voice."""

    channel: int = 10
    program: int = 0
    step_beats: float = 1.0

    def __post_init__(self) -> None:
        _check_midi_numbers(self.channel, self.program)
        if self.step_beats not in (0.25, 0.5, 1.0):
            raise ValueError("step_beats: must be 0.25, 0.5 or 1.0")


@dataclass(frozen=True)
class DrumSettings:
    """The drum voice (`encore.engine.voices.drums`).

    `pattern` maps drum names to the 16th steps (0-31) they strike, for `mode = "pattern"`.
    """

    checkpoint: str = "factorized"
    mode: str = "library"
    groove: str = DEFAULT_GROOVE
    pattern: dict = field(default_factory=dict)
    channel: int = 10
    program: int = 0
    temperature: float = SamplingConfig.temperature
    sampling_seed: int = 0

    def __post_init__(self) -> None:
        _check_midi_numbers(self.channel, self.program)
        SamplingConfig(temperature=self.temperature)
        DrumPart(self.mode, self.groove, self.pattern)

    @property
    def part(self) -> DrumPart:
        """What the drums play first."""
        return DrumPart(self.mode, self.groove, self.pattern)


@dataclass(frozen=True)
class Song:
    """One song: seed, tempo, sampling settings (`SamplingConfig`'s fields and defaults), length, name."""

    bars: int
    seed: str = ""
    tempo: float = 120.0
    temperature: float = SamplingConfig.temperature
    top_p: float = SamplingConfig.top_p
    min_p: float = SamplingConfig.min_p
    repetition_penalty: float = SamplingConfig.repetition_penalty
    repetition_window: int = SamplingConfig.repetition_window
    name: str = ""

    def __post_init__(self) -> None:
        if self.bars < 1:
            raise ValueError("bars: must be at least 1")
        if not MIN_BPM <= self.tempo <= MAX_BPM:
            raise ValueError(f"tempo: must be between {MIN_BPM:g} and {MAX_BPM:g} bpm")
        _ = self.sampling  # one validation of the sampling settings, naming the bad field

    @property
    def sampling(self) -> SamplingConfig:
        """The song's sampling settings."""
        return SamplingConfig(**{name: getattr(self, name) for name in SAMPLING_FIELDS})


@dataclass(frozen=True)
class Setlist:
    """A parsed, validated setlist; `folder` is where relative paths start."""

    songs: list[Song]
    folder: Path
    title: str = ""
    show: ShowSettings = field(default_factory=ShowSettings)
    piano: PianoSettings | None = None
    click: ClickSettings | None = None
    drums: DrumSettings | None = None

    @property
    def time_signature(self) -> tuple[int, int]:
        """`(numerator, denominator)` of the show."""
        return parse_time_signature(self.show.time_signature)

    @property
    def bar_beats(self) -> float:
        """Quarter notes per bar."""
        return bar_beats(*self.time_signature)

    def song_starts(self) -> list[float]:
        """Start beat of each song."""
        starts, beat = [], 0.0
        for song in self.songs:
            starts.append(beat)
            beat += song.bars * self.bar_beats
        return starts

    def seconds(self) -> float:
        """Length of the show in seconds."""
        return sum(beats_to_seconds(song.bars * self.bar_beats, song.tempo) for song in self.songs)

    def song_name(self, index: int) -> str:
        """How surfaces name song `index`: its `name`, else its seed's file name, else `song N`."""
        song = self.songs[index]
        return song.name or (Path(song.seed).stem if song.seed else f"song {index + 1}")

    def seed_path(self, song: Song) -> Path:
        """A song's seed file, resolved against the setlist's folder."""
        return (self.folder / song.seed).resolve()


def load_setlist(path: Path) -> Setlist:
    """Read and validate a setlist (seeds included: each must be a readable MIDI file with notes).

    Raises:
        SetlistError: naming the first bad field.
        SeedError: for a seed MIDI file that cannot be read or holds no notes.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SetlistError(f"cannot read setlist {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise SetlistError(f"setlist {path} is not valid TOML: {error}") from error
    where = str(path)
    unknown = set(raw) - {"title", "show", "piano", "click", "drums", "songs"}
    if unknown:
        raise SetlistError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    songs_raw = raw.get("songs")
    if not isinstance(songs_raw, list) or not songs_raw:
        raise SetlistError(f"{where}: songs: at least one [[songs]] entry is needed")
    setlist = Setlist(
        songs=[_build(Song, item, f"{where}: songs[{i}]") for i, item in enumerate(songs_raw)],
        folder=path.parent,
        title=_typed(raw.get("title", ""), str, f"{where}: title"),
        show=_build(ShowSettings, raw.get("show", {}), f"{where}: show"),
        piano=_build(PianoSettings, raw["piano"], f"{where}: piano") if "piano" in raw else None,
        click=_build(ClickSettings, raw["click"], f"{where}: click") if "click" in raw else None,
        drums=_build(DrumSettings, raw["drums"], f"{where}: drums") if "drums" in raw else None,
    )
    if setlist.piano is None and setlist.click is None and setlist.drums is None:
        raise SetlistError(f"{where}: piano: a setlist needs a [piano], [click] or [drums] voice")
    if setlist.drums is not None:
        _check_drums(setlist, where)
    if setlist.piano is not None:
        for i, song in enumerate(setlist.songs):
            if not song.seed:
                raise SetlistError(f"{where}: songs[{i}].seed: the piano needs a seed MIDI file")
            check_seed(setlist.seed_path(song))
    return setlist


def _check_drums(setlist: Setlist, where: str) -> None:
    if setlist.time_signature != (4, 4):
        raise SetlistError(f"{where}: drums: the groove models play 4/4 only, not {setlist.show.time_signature}")
    if setlist.drums is not None and setlist.drums.mode == "follow-piano" and setlist.piano is None:
        raise SetlistError(f"{where}: drums.mode: follow-piano needs a [piano] voice")


def check_seed(path: Path) -> None:
    """Make sure a seed is a readable MIDI file with at least one note.

    Raises:
        SeedError: naming the file and what is wrong.
    """
    try:
        midi = mido.MidiFile(path)
    except FileNotFoundError as error:
        raise SeedError(f"seed {path} does not exist") from error
    except (OSError, ValueError, EOFError, KeyError, IndexError) as error:
        raise SeedError(f"seed {path} is not a readable MIDI file ({error})") from error
    if not any(msg.type == "note_on" and msg.velocity > 0 for track in midi.tracks for msg in track):
        raise SeedError(f"seed {path} holds no notes")


def _build(cls: type[Any], table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise SetlistError(f"{where}: must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names:
            raise SetlistError(f"{where}.{key}: unknown field")
    values = {key: _typed(value, hints[key], f"{where}.{key}") for key, value in table.items()}
    try:
        return cls(**values)
    except TypeError as error:
        missing = next((f.name for f in dataclasses.fields(cls) if f.name not in values), "?")
        raise SetlistError(f"{where}.{missing}: missing ({error})") from error
    except ValueError as error:
        raise SetlistError(f"{where}.{error}") from error


def _typed(value: Any, expected: type, where: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise SetlistError(f"{where}: must be {expected.__name__}, got {type(value).__name__} {value!r}")
    return value


def _check_midi_numbers(channel: int, program: int) -> None:
    """Channels count 1-16 in setlists, as General MIDI does (10 is the drum channel)."""
    if not 1 <= channel <= 16:
        raise ValueError("channel: must be 1-16 (General MIDI numbering; 10 is the drum channel)")
    if not 0 <= program < 128:
        raise ValueError("program: must be 0-127")
