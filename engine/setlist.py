"""Setlists: a TOML file naming the voices, the outputs and the songs of a show, validated into dataclasses.

    title = "Demo"
    [show]
    time_signature = "4/4"
    [outputs]                        # optional; the command line's options win over these
    record = "../out/demo.mid"       # paths are relative to the setlist
    [piano]                          # the piano voice (optional if there is another voice)
    checkpoint = "default"           # "default", "tiny" (random weights: tests) or a folder
    style = "pop"                    # v2 checkpoints: "pop", "score" or "performance" (default: none)
    [click]                          # a click track (optional)
    [drums]                          # the groove VAE (optional; 4/4 only)
    mode = "follow-piano"            # "library", "pattern" or "follow-piano"
    groove = "funk"                  # a library groove name (funk-102) or a style
    [performer]                      # a performer on --midi-in (optional; docs/engine.md)
    mode = "duet"                    # "off", "call-response", "duet" or "drums-follow"
    silence_s = 2.0                  # call-response: the piano answers after this much silence
    [guard]                          # the piano's originality guard (docs/guard.md); enabled = false: off
    threshold = 7                    # top-line notes in a row found in one training piece (5-64)
    [[songs]]                        # played in order; each starts on a bar line
    name = "Opening"                 # how surfaces name it (default: the seed's file name, or "song N")
    seed = "seeds/pop909_003.mid"    # relative to the setlist
    tempo = 100
    bars = 16                        # or "until next": plays until a Next command
    transition = "crossfade"         # how it comes in: "cut" (default) or "crossfade"
    crossfade_bars = 2
    [songs.drums]                    # this song's drums (fields left out keep [drums]')
    groove = "funk"

Every problem is one `SetlistError` naming the file, the line, the song and the field
(`encore.engine.setlist_reader`).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from encore.engine.clock import MAX_BPM, MIN_BPM, bar_beats, beats_to_seconds, parse_time_signature
from encore.engine.performer import MODES as PERFORMER_MODES
from encore.engine.performer import PerformerSettings
from encore.engine.seed_file import check_seed
from encore.engine.setlist_reader import SetlistError, SetlistReader, shown
from encore.engine.voices.drums import DEFAULT_GROOVE, DrumPart
from encore.engine.voices.originality import GuardSettings
from encore.models.errors import EncoreError, SeedError
from encore.models.piano.styles import STYLES
from encore.models.sampling_config import SAMPLING_FIELDS, SamplingConfig

UNTIL_NEXT = "until next"
"""A song's `bars` for a song that plays until a `Next` command."""
TRANSITIONS = ("cut", "crossfade")
TABLES = ("title", "show", "outputs", "piano", "click", "drums", "performer", "guard", "songs")


@dataclass(frozen=True)
class ShowSettings:
    """Settings of the whole show."""

    time_signature: str = "4/4"
    lookahead_bars: float = 1.0

    def __post_init__(self) -> None:
        try:
            parse_time_signature(self.time_signature)
        except EncoreError as error:
            raise ValueError('time_signature: must be N/D with D a power of two, like "4/4" or "6/8"') from error
        if not 0 < self.lookahead_bars <= 8:
            raise ValueError("lookahead_bars: must be more than 0 and at most 8")


@dataclass(frozen=True)
class Outputs:
    """Where the show plays and records; each option given on the command line wins over these.

    Paths are relative to the setlist's folder. None: not set here.
    """

    record: str | None = None
    midi_type: int | None = None
    wav: str | None = None
    midi_port: str | None = None
    midi_api: str | None = None
    virtual_port: bool = False
    soundfont: str | None = None
    audio_device: str | None = None

    def __post_init__(self) -> None:
        if self.midi_type not in (None, 0, 1):
            raise ValueError("midi_type: must be 0 (one track) or 1 (a track per voice)")
        if self.midi_api not in (None, "alsa", "jack"):
            raise ValueError('midi_api: must be "alsa" or "jack"')
        for name in ("record", "wav", "midi_port", "soundfont", "audio_device"):
            if getattr(self, name) == "":
                raise ValueError(f"{name}: must not be empty (leave it out instead)")


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
    style: str | None = None

    def __post_init__(self) -> None:
        _check_midi_numbers(self.channel, self.program)
        if self.style is not None and self.style not in STYLES:
            raise ValueError(f"style: must be one of {', '.join(STYLES)}")
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

    def for_song(self, song: Song) -> DrumSettings:
        """These settings with a song's own drum settings over them."""
        own = song.drums or SongDrums()
        return DrumSettings(self.checkpoint, own.mode or self.mode, own.groove or self.groove,
                            self.pattern if own.pattern is None else own.pattern, self.channel, self.program,
                            self.temperature if own.temperature is None else own.temperature, self.sampling_seed)


@dataclass(frozen=True)
class SongDrums:
    """A song's own drum settings (`[songs.drums]`); a field left out keeps the show's `[drums]` value."""

    mode: str | None = None
    groove: str | None = None
    pattern: dict | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None:
            SamplingConfig(temperature=self.temperature)
        DrumPart(self.mode or "library", self.groove or DEFAULT_GROOVE, self.pattern or {})


@dataclass(frozen=True)
class Song:
    """One song: seed, tempo, sampling settings (`SamplingConfig`'s fields and defaults), length, name,
    how it comes in (`transition`) and its own drum settings.

    Attributes:
        bars: Its length; None plays until a `Next` command (`bars = "until next"` in the file).
    """

    bars: int | None
    seed: str = ""
    tempo: float = 120.0
    temperature: float = SamplingConfig.temperature
    top_p: float = SamplingConfig.top_p
    min_p: float = SamplingConfig.min_p
    repetition_penalty: float = SamplingConfig.repetition_penalty
    repetition_window: int = SamplingConfig.repetition_window
    name: str = ""
    transition: str = "cut"
    crossfade_bars: int = 2
    drums: SongDrums | None = None
    performer: str | None = None

    def __post_init__(self) -> None:
        if self.bars is not None and self.bars < 1:
            raise ValueError(f'bars: must be at least 1 (or "{UNTIL_NEXT}")')
        if not MIN_BPM <= self.tempo <= MAX_BPM:
            raise ValueError(f"tempo: must be between {MIN_BPM:g} and {MAX_BPM:g} bpm")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"transition: must be {' or '.join(map(shown, TRANSITIONS))}")
        if self.crossfade_bars < 1:
            raise ValueError("crossfade_bars: must be at least 1")
        if self.performer is not None and self.performer not in PERFORMER_MODES:
            raise ValueError(f"performer: must be one of {', '.join(map(shown, PERFORMER_MODES))}")
        if self.crossfades and self.bars is not None and self.crossfade_bars > self.bars:
            raise ValueError(f"crossfade_bars: must be at most the song's {self.bars} bars")
        _ = self.sampling  # one validation of the sampling settings, naming the bad field

    @property
    def sampling(self) -> SamplingConfig:
        """The song's sampling settings."""
        return SamplingConfig(**{name: getattr(self, name) for name in SAMPLING_FIELDS})

    @property
    def crossfades(self) -> bool:
        """Whether it fades in over the song before it."""
        return self.transition == "crossfade"


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
    outputs: Outputs = field(default_factory=Outputs)
    performer: PerformerSettings = field(default_factory=PerformerSettings)
    guard: GuardSettings = field(default_factory=GuardSettings)

    @property
    def time_signature(self) -> tuple[int, int]:
        """`(numerator, denominator)` of the show."""
        return parse_time_signature(self.show.time_signature)

    @property
    def bar_beats(self) -> float:
        """Quarter notes per bar."""
        return bar_beats(*self.time_signature)

    def song_beats(self, song: Song) -> float:
        """A song's length in quarter notes (`math.inf` until `Next`)."""
        return math.inf if song.bars is None else song.bars * self.bar_beats

    def song_starts(self) -> list[float]:
        """Start beat of each song (`math.inf` after a song that plays until `Next`)."""
        starts, beat = [], 0.0
        for song in self.songs:
            starts.append(beat)
            beat += self.song_beats(song)
        return starts

    def seconds(self) -> float:
        """Length of the show in seconds (`math.inf` if a song plays until `Next`)."""
        return sum(beats_to_seconds(self.song_beats(song), song.tempo) for song in self.songs)

    def song_name(self, index: int) -> str:
        """How surfaces name song `index`: its `name`, else its seed's file name, else `song N`."""
        song = self.songs[index]
        return song.name or (Path(song.seed).stem if song.seed else f"song {index + 1}")

    def open_song(self) -> int | None:
        """The first song that plays until `Next`, if any."""
        return next((i for i, song in enumerate(self.songs) if song.bars is None), None)

    def seed_path(self, song: Song) -> Path:
        """A song's seed file, resolved against the setlist's folder."""
        return (self.folder / song.seed).resolve()

    def output_path(self, name: str | None) -> Path | None:
        """A path from the setlist (an output), resolved against its folder."""
        return None if name is None else (self.folder / name)


def load_setlist(path: Path) -> Setlist:
    """Read and validate a setlist (seeds included: each must be a readable MIDI file with notes).

    Raises:
        SetlistError: naming the file, the line, the song or table and the field.
        SeedError: for a seed MIDI file that cannot be read or holds no notes (placed the same way).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SetlistError(f"cannot read setlist {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise SetlistError(f"setlist {path} is not UTF-8 text ({error.reason})") from error
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        where = f"{path}:{at.group(1)}: column {at.group(2)}" if at else str(path)
        raise SetlistError(f"{where}: not valid TOML: {problem}") from error
    reader = SetlistReader(path, text, raw)
    unknown = [key for key in raw if key not in TABLES]
    if unknown:
        raise reader.error((), unknown[0], f"unknown table or field {shown(unknown[0])} (known: {', '.join(TABLES)})")
    songs_raw = raw.get("songs")
    if not isinstance(songs_raw, list) or not songs_raw:
        raise reader.error((), "songs", "no songs: add at least one [[songs]] table with its bars")
    if not isinstance(raw.get("title", ""), str):
        raise reader.error((), "title", f"title must be text in quotes, got {shown(raw['title'])}")
    setlist = Setlist(
        songs=[_song(reader, item, i) for i, item in enumerate(songs_raw)],
        folder=path.parent,
        title=raw.get("title", ""),
        show=reader.build(ShowSettings, raw.get("show", {}), ("show",)),
        piano=reader.build(PianoSettings, raw["piano"], ("piano",)) if "piano" in raw else None,
        click=reader.build(ClickSettings, raw["click"], ("click",)) if "click" in raw else None,
        drums=reader.build(DrumSettings, raw["drums"], ("drums",)) if "drums" in raw else None,
        outputs=reader.build(Outputs, raw.get("outputs", {}), ("outputs",)),
        performer=reader.build(PerformerSettings, raw.get("performer", {}), ("performer",)),
        guard=reader.build(GuardSettings, raw.get("guard", {}), ("guard",)),
    )
    _check_voices(reader, setlist)
    return setlist


def _song(reader: SetlistReader, item: Any, index: int) -> Song:
    if isinstance(item, dict) and item.get("bars") == UNTIL_NEXT:
        item = {**item, "bars": None}
    elif isinstance(item, dict) and "bars" in item and (isinstance(item["bars"], bool) or not isinstance(item["bars"], int)):
        raise reader.error(("songs", index), "bars",
                           f'bars must be a whole number or "{UNTIL_NEXT}", got {shown(item["bars"])}')
    if index == 0 and isinstance(item, dict) and item.get("transition") == "crossfade":
        raise reader.error(("songs", index), "transition", "transition: the first song has nothing to cross-fade from")
    return reader.build(Song, item, ("songs", index), required=f'give the song\'s length: bars = 16, or "{UNTIL_NEXT}"')


def _check_voices(reader: SetlistReader, setlist: Setlist) -> None:
    if setlist.piano is None and setlist.click is None and setlist.drums is None:
        raise reader.error((), None, "no voice: add a [piano], [click] or [drums] table")
    if setlist.drums is not None:
        if setlist.time_signature != (4, 4):
            raise reader.error(("drums",), None,
                               f"the groove models play 4/4 only, not {setlist.show.time_signature}")
        for i, song in enumerate(setlist.songs):
            if setlist.drums.for_song(song).mode == "follow-piano" and setlist.piano is None:
                where = ("songs", i, "drums") if song.drums and song.drums.mode else ("drums",)
                raise reader.error(where, "mode", 'mode "follow-piano" needs a [piano] voice')
    for i, song in enumerate(setlist.songs):
        for mode, where in ((setlist.performer.mode, ("performer",)), (song.performer, ("songs", i))):
            key = "mode" if where == ("performer",) else "performer"
            if mode in ("call-response", "duet") and setlist.piano is None:
                raise reader.error(where, key, f'mode "{mode}" needs a [piano] voice')
            if mode == "drums-follow" and setlist.drums is None:
                raise reader.error(where, key, 'mode "drums-follow" needs a [drums] voice')
        if song.drums is not None and setlist.drums is None:
            raise reader.error(("songs", i), "drums", "drums given, but the show has no [drums] voice")
        if setlist.piano is not None:
            if not song.seed:
                raise reader.error(("songs", i), None, 'seed is missing: the piano needs a seed MIDI file (seed = "seeds/x.mid")')
            try:
                check_seed(setlist.seed_path(song))
            except SeedError as error:
                raise SeedError(str(reader.error(("songs", i), "seed", str(error)))) from None


def _check_midi_numbers(channel: int, program: int) -> None:
    """Channels count 1-16 in setlists, as General MIDI does (10 is the drum channel)."""
    if not 1 <= channel <= 16:
        raise ValueError("channel: must be 1-16 (General MIDI numbering; 10 is the drum channel)")
    if not 0 <= program < 128:
        raise ValueError("program: must be 0-127")
