"""The read side of the engine: a frozen picture of a live show, for surfaces to poll or be posted.

`Engine.snapshot()` builds a `ShowSnapshot` from any thread without stopping the show (no lock the
sender waits on is held for more than a copy), cheap enough for 30 a second (docs/engine.md gives the
measured cost). `to_dict()` is JSON-safe: the MQTT state topic publishes it as is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from encore.engine.clock import MusicalClock
from encore.engine.note_log import Note, NoteLog
from encore.engine.report import percentile
from encore.engine.router import Router
from encore.engine.scheduler import Scheduler
from encore.engine.sender import Sender
from encore.engine.sinks.base import SinkStatus
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import DrumVoice
from encore.engine.voices.originality import GuardState
from encore.engine.voices.piano import PianoVoice
from encore.engine.voices.soft_key import OFF, takes_key
from encore.models.sampling_config import SamplingConfig

RECENT_BARS = 8
"""How many bars of notes sent each voice snapshot carries."""
JITTER_WINDOW = 512
"""The sender jitter p99 is taken over this many recent messages."""
STRAIN_SHARE = 0.25
"""A live voice rendered less than this share of the target lookahead ahead of the playhead is strained (a
show starts at a quarter: the preroll is a beat of a bar's lookahead)."""


@dataclass(frozen=True)
class SongSnapshot:
    """A song of the setlist: its place, its name and the beat it starts at (as planned now)."""

    index: int
    name: str
    start_beat: float


@dataclass(frozen=True)
class VoiceSnapshot:
    """One voice.

    Attributes:
        name: Track name.
        kind: `piano`, `drums`, `pattern`, ... (the class name without `Voice`, lower case).
        channel: MIDI channel, 0-based.
        sampling: Its sampling settings now (those it renders with from its next token).
        muted: Muted.
        soloed: Soloed.
        audible: Whether its note-ons pass now (mute and every solo considered).
        failed: It raised and was stopped.
        seed: The seed it last primed with (a file name, or `phrase (N notes)`), None if it takes none.
        groove: The drum voice's groove asked for (None for other voices).
        mode: The drum voice's mode asked for (None for other voices).
        rendered_beats: Show beat it has rendered up to.
        tokens_per_s: Decoding speed over its recent renders (None if it decodes no tokens).
        recent_notes: Notes sent in the last `RECENT_BARS` bars, `(onset_beats, pitch, velocity,
            duration_beats)` by onset; a note still sounding lasts to the playhead.
        key: The key a piano voice leans to (`SetKey`: `D minor`, or `off`); None for other voices.
        originality: What the piano's originality guard has done (`on` or why it is off, passages
            rendered again, ...); None for voices without one.
        underruns: Its renders that brought late notes.
        shifted: Its late notes sounded late.
        lost: Its late notes never sounded (later than the underrun policy shifts).
        strained: It is less than `STRAIN_SHARE` of the target lookahead ahead of the playhead: falling
            behind (surfaces do less meanwhile: the terminal UI redraws less often).
    """

    name: str
    kind: str
    channel: int
    sampling: SamplingConfig
    muted: bool
    soloed: bool
    audible: bool
    failed: bool
    seed: str | None
    groove: str | None
    mode: str | None
    rendered_beats: float
    tokens_per_s: float | None
    recent_notes: tuple[Note, ...]
    key: str | None = None
    originality: GuardState | None = None
    underruns: int = 0
    shifted: int = 0
    lost: int = 0
    strained: bool = False


@dataclass(frozen=True)
class ShowSnapshot:
    """The live state of a show.

    Attributes:
        playing: Between the first note's preroll and the end of the show.
        show_time_s: Seconds since the show's origin (0 before it starts).
        beats: The playhead, in quarter notes from the start.
        bar: Bar number, from 1.
        beat: Beat in the bar, from 1.0 (quarter notes; fractional between beats).
        tempo_bpm: Tempo at the playhead.
        time_signature: `(numerator, denominator)`.
        song: The song sounding (None for a show without a setlist).
        next_song: The song after it (None at the last song).
        voices: Every voice, in show order.
        outputs: Every output, dropped ones included.
        lookahead_ms: How far the least advanced live voice has rendered past the playhead.
        target_lookahead_ms: How far ahead the engine keeps them.
        underruns: Renders that arrived late (`ScheduleCounts`).
        shifted: Late notes sounded late.
        dropped: Late notes lost (never sounded).
        notes_sent: Note-ons sent.
        decode_tokens_per_s: Sum of the voices' decoding speeds (None if no voice decodes tokens).
        jitter_p99_ms: Sender lateness p99 over its last `JITTER_WINDOW` messages.
        held: Shifted notes whose end moved later so they sound at least the policy's shortest note.
        sender: How the sender thread runs (`SCHED_FIFO 10`, `normal (... refused: ...)`; empty offline).
        strained: Some live voice is `strained` (see `VoiceSnapshot`).
    """

    playing: bool
    show_time_s: float
    beats: float
    bar: int
    beat: float
    tempo_bpm: float
    time_signature: tuple[int, int]
    song: SongSnapshot | None
    next_song: SongSnapshot | None
    voices: tuple[VoiceSnapshot, ...]
    outputs: tuple[SinkStatus, ...]
    lookahead_ms: float
    target_lookahead_ms: float
    underruns: int
    shifted: int
    dropped: int
    notes_sent: int
    decode_tokens_per_s: float | None
    jitter_p99_ms: float
    held: int = 0
    sender: str = ""
    strained: bool = False

    def voice(self, name: str) -> VoiceSnapshot:
        """The voice called `name`.

        Raises:
            KeyError: if there is none.
        """
        for voice in self.voices:
            if voice.name == name:
                return voice
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (dataclasses become objects, tuples lists, non-finite numbers None)."""
        return _json_safe(self)


def _json_safe(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        if all(type(item) is int or (type(item) is float and math.isfinite(item)) for item in value):
            return list(value)  # a note or a time signature: the common case, kept fast
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class SnapshotSource(Protocol):
    """What a snapshot reads of a show (the engine implements it)."""

    @property
    def clock(self) -> MusicalClock:
        """The tempo map and time signature."""

    @property
    def playing(self) -> bool:
        """Between the preroll and the end of the show."""

    @property
    def ended(self) -> bool:
        """The show is over."""

    @property
    def voices(self) -> Mapping[str, Voice]:
        """Every voice, in show order."""

    @property
    def live(self) -> Mapping[str, Voice]:
        """The voices still playing."""

    @property
    def router(self) -> Router:
        """Mute and solo."""

    @property
    def scheduler(self) -> Scheduler:
        """Underrun counts."""

    @property
    def sender(self) -> Sender:
        """Notes sent and their lateness."""

    @property
    def note_log(self) -> NoteLog:
        """The notes sent, per voice."""

    def show_time(self) -> float:
        """Seconds since the show's origin."""

    def lookahead_beats(self) -> float:
        """How far ahead of the playhead the voices are kept."""

    def songs_at(self, beat: float) -> tuple[SongSnapshot | None, SongSnapshot | None]:
        """The song sounding at `beat` and the next one."""

    def output_status(self) -> tuple[SinkStatus, ...]:
        """Every output's status."""

    def decode_speed(self, name: str) -> float | None:
        """A voice's tokens per second over its recent renders."""


def take_snapshot(engine: SnapshotSource) -> ShowSnapshot:
    """The engine's live state; any thread (see the module docstring)."""
    clock = engine.clock
    show_time = max(engine.show_time(), 0.0) if engine.playing or engine.ended else 0.0
    playhead = clock.beat_at(show_time)
    bar_beats = clock.bar_beats
    bar = math.floor(playhead / bar_beats + 1e-9)
    since = playhead - RECENT_BARS * bar_beats
    muted, soloed = engine.router.mix()
    target = clock.time_at(playhead + engine.lookahead_beats()) - clock.time_at(playhead)
    strain_below = clock.time_at(playhead + STRAIN_SHARE * engine.lookahead_beats()) if engine.playing else -math.inf
    voices = tuple(_voice(engine, voice, since, playhead, muted, soloed, strain_below)
                   for voice in engine.voices.values())
    live = [v for v in voices if not v.failed]
    ahead = min((clock.time_at(v.rendered_beats) - show_time for v in live), default=0.0)
    speeds = [v.tokens_per_s for v in voices if v.tokens_per_s is not None]
    counts = engine.scheduler.counts
    song, next_song = engine.songs_at(playhead)
    return ShowSnapshot(
        playing=engine.playing,
        show_time_s=show_time,
        beats=playhead,
        bar=bar + 1,
        beat=playhead - bar * bar_beats + 1.0,
        tempo_bpm=clock.bpm_at(playhead),
        time_signature=clock.time_signature,
        song=song,
        next_song=next_song,
        voices=voices,
        outputs=engine.output_status(),
        lookahead_ms=1000.0 * ahead,
        target_lookahead_ms=1000.0 * target,
        underruns=counts.underruns,
        shifted=counts.shifted,
        dropped=counts.dropped,
        notes_sent=engine.sender.notes_sent,
        decode_tokens_per_s=sum(speeds) if speeds else None,
        jitter_p99_ms=1000.0 * percentile(engine.sender.lateness[-JITTER_WINDOW:], 0.99),
        held=counts.held,
        sender=engine.sender.scheduling,
        strained=any(v.strained for v in live),
    )


def _voice(engine: SnapshotSource, voice: Voice, since: float, playhead: float,
           muted: Sequence[str], soloed: Sequence[str], strain_below: float) -> VoiceSnapshot:
    name = voice.name
    late = engine.scheduler.by_track.get(name)
    drums = voice if isinstance(voice, DrumVoice) else None
    part = drums.part if drums is not None else None
    kind = type(voice).__name__.removesuffix("Voice").lower() or "voice"
    return VoiceSnapshot(
        name=name,
        kind=kind,
        channel=voice.channel,
        sampling=voice.sampling,
        muted=name in muted,
        soloed=name in soloed,
        audible=name not in muted and (not soloed or name in soloed),
        failed=name not in engine.live,
        seed=voice.seed_name,
        groove=part.groove if part is not None else None,
        mode=part.mode if part is not None else None,
        rendered_beats=voice.position_beats,
        tokens_per_s=engine.decode_speed(name),
        recent_notes=engine.note_log.recent(name, since, playhead),
        key=(voice.key or OFF) if takes_key(voice) else None,
        originality=voice.guard.state() if isinstance(voice, PianoVoice) and voice.guard is not None else None,
        underruns=late.underruns if late is not None else 0,
        shifted=late.shifted if late is not None else 0,
        lost=late.dropped if late is not None else 0,
        strained=name in engine.live and engine.clock.time_at(voice.position_beats) < strain_below,
    )
