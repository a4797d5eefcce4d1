"""From a setlist and the command line's choices to a show: voices, sinks, the songs, and `Show`.

A `Show` runs inside any event loop: build it, then `await show.perform()`; `stop()`, `submit()` and
`snapshot()` work from any thread meanwhile. It installs no signal handlers: that is the command
line's job (`encore.stage.cli.play`), so a program embedding a show keeps its own.

    show = Show.build(load_setlist(path), PlayOptions(headless=True, record=Path("out/set.mid")))
    report = await show.perform()
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from encore.engine.clock import VirtualClock
from encore.engine.commands.groove import SetGroove
from encore.engine.commands.performing import SetPerformer
from encore.engine.commands.reseed import Reseed
from encore.engine.control import Command
from encore.engine.engine import Engine, EngineConfig
from encore.engine.performer import Performer
from encore.engine.report import ShowReport
from encore.engine.results import CommandTicket
from encore.engine.setlist import DrumSettings, PianoSettings, Setlist
from encore.engine.sinks.base import Sink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.songs import Crossfade, SongPlan
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import DrumVoice
from encore.engine.voices.note_tap import NoteTap
from encore.engine.voices.originality import GuardSettings, OriginalityGuard, open_guard
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.engine.voices.piano import PianoVoice
from encore.models.errors import EncoreError
from encore.models.sampling_config import SamplingConfig

if TYPE_CHECKING:
    from encore.models.piano.stream import PianoStream

log = logging.getLogger(__name__)

TINY_CHECKPOINT = "tiny"


@dataclass(frozen=True)
class PlayOptions:
    """How to play a setlist (what `encore play` was asked).

    Attributes:
        headless: No live audio: render `wav` and record; offline (faster than real time) unless `realtime`.
        realtime: Pace a headless show by the wall clock (live outputs always are).
        seconds: Stop after this many seconds (default: the setlist's length).
        record: MIDI file to record into (journaled beside it).
        midi_type: 1 (a track per voice) or 0; None: the setlist's, else 1.
        wav: WAV file to render into.
        midi_port: MIDI output port name.
        midi_api: "alsa" or "jack"; None: whichever API has the port.
        virtual_port: Create `midi_port` as a virtual port instead of connecting to an existing one.
        soundfont: SoundFont for the synth.
        audio_device: Live audio output (a name or part of it); None: JACK's when a JACK server runs,
            else the default device.

    Every option left at None (False) takes the setlist's `[outputs]` value (`with_outputs`).
    """

    headless: bool = False
    realtime: bool = False
    seconds: float | None = None
    record: Path | None = None
    midi_type: int | None = None
    wav: Path | None = None
    midi_port: str | None = None
    midi_api: str | None = None
    virtual_port: bool = False
    soundfont: Path | None = None
    audio_device: str | None = None

    @property
    def offline(self) -> bool:
        """Whether the show runs on a virtual clock, as fast as it renders."""
        return self.headless and not self.realtime and self.midi_port is None

    def with_outputs(self, setlist: Setlist) -> PlayOptions:
        """These options, each one not given taken from the setlist's `[outputs]` (paths from its folder)."""
        outputs = setlist.outputs
        midi_type = next((t for t in (self.midi_type, outputs.midi_type) if t is not None), 1)
        return replace(
            self, record=self.record or setlist.output_path(outputs.record), midi_type=midi_type,
            wav=self.wav or setlist.output_path(outputs.wav), midi_port=self.midi_port or outputs.midi_port,
            midi_api=self.midi_api or outputs.midi_api, virtual_port=self.virtual_port or outputs.virtual_port,
            soundfont=self.soundfont or setlist.output_path(outputs.soundfont),
            audio_device=self.audio_device or outputs.audio_device,
        )


def build_voices(setlist: Setlist) -> list[Voice]:
    """The voices a setlist asks for, the piano primed with the first song's seed.

    With drums, the piano gets a `NoteTap` the drum voice can follow (from the start in
    `follow-piano` mode, or after a `SetGroove` switches to it).

    Raises:
        EncoreError: if the drum model cannot be loaded or cannot play the part asked for.
    """
    voices: list[Voice] = []
    first = setlist.songs[0]
    piano_tap: NoteTap | None = None
    if setlist.piano is not None:
        stream = _piano_stream(setlist.piano, setlist.folder)
        guard = _originality_guard(setlist.piano, setlist.folder, setlist.guard)
        piano = PianoVoice(stream, setlist.seed_path(first), "piano", setlist.piano.channel - 1,
                           setlist.piano.program, first.sampling, guard=guard)
        if setlist.drums is not None:
            piano.tap = piano_tap = NoteTap()
        voices.append(piano)
    if setlist.drums is not None:
        drums = _drum_voice(setlist.drums.for_song(first), setlist.folder, piano_tap, first.tempo)
        _check_song_drums(setlist, drums)
        voices.append(drums)
    if setlist.click is not None:
        numerator = setlist.time_signature[0]
        voices.append(PatternVoice("click", setlist.click.channel - 1, click_pattern(numerator, setlist.click.step_beats),
                                   setlist.bar_beats, setlist.click.program))
    return voices


def build_sinks(options: PlayOptions) -> list[Sink]:
    """The outputs asked for; a live show with no MIDI port plays through the sound card (or JACK).

    With no audio device the live audio sink is still there, its status `off` saying why, and the
    other outputs play on.

    Raises:
        EncoreError: if an output cannot be opened (a MIDI port, a file, a SoundFont); those opened
            before it are closed.
    """
    from encore.engine.sinks.audio import AudioSink
    from encore.engine.sinks.midi_out import MidiOutSink
    from encore.engine.sinks.recorder import RecorderSink
    from encore.engine.sinks.wav import WavSink

    openers: list[Callable[[], Sink]] = []
    if options.midi_port is not None:
        openers.append(lambda: MidiOutSink(options.midi_port or "", options.midi_api, options.virtual_port))
    if not options.headless and options.midi_port is None:
        openers.append(lambda: AudioSink(options.soundfont, device=options.audio_device))
    if options.wav is not None:
        openers.append(lambda: WavSink(options.wav or Path(), options.soundfont))
    if options.record is not None:
        openers.append(lambda: RecorderSink(options.record or Path(), 1 if options.midi_type is None else options.midi_type))
    sinks: list[Sink] = []
    try:
        for opener in openers:
            sinks.append(opener())
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks


def song_plans(setlist: Setlist) -> list[SongPlan]:
    """The setlist's songs for the engine: each song's tempo and length, the piano's seed and sampling,
    the drums' part and temperature, and how it comes in (cut, or a crossfade: `encore.engine.songs`)."""
    plans = []
    for index, song in enumerate(setlist.songs):
        commands: list[Command] = []
        sampling: list[tuple[str, SamplingConfig]] = []
        if setlist.piano is not None:
            commands.append(Reseed(setlist.seed_path(song), "piano"))
            sampling.append(("piano", song.sampling))
        if setlist.drums is not None:
            drums = setlist.drums.for_song(song)
            commands.append(SetGroove(drums.mode, drums.groove, drums.pattern, "drums"))
            sampling.append(("drums", SamplingConfig(temperature=drums.temperature)))
        if any(each.performer is not None for each in setlist.songs):  # a song without one goes back to [performer]
            commands.append(SetPerformer(song.performer or setlist.performer.mode))
        fading = ("piano",) if setlist.piano is not None else ()
        crossfade = (Crossfade(song.crossfade_bars * setlist.bar_beats, fading, setlist.bar_beats)
                     if song.crossfades else None)
        plans.append(SongPlan(setlist.song_name(index), setlist.song_beats(song), tuple(commands), song.tempo,
                              tuple(sampling), crossfade))
    return plans


def build_engine(setlist: Setlist, voices: list[Voice], sinks: list[Sink], now: Callable[[], float]) -> Engine:
    """An engine at the first song's tempo, with every later song's settings applied at its bar line."""
    config = EngineConfig(bpm=setlist.songs[0].tempo, time_signature=setlist.time_signature,
                          lookahead_bars=setlist.show.lookahead_bars)
    engine = Engine(voices, sinks, config, now, song_plans(setlist))
    engine.performer = Performer(replace(setlist.performer, mode=setlist.songs[0].performer or setlist.performer.mode))
    engine.performer.start(engine)
    return engine


class Show:
    """A show ready to perform: an engine (its voices and sinks) and how long to play.

    Args:
        engine: The engine, built with `now=VirtualClock()` for an offline show.
        seconds: Stop after this much show time (None: where the last song ends, or at `Stop`).
        offline: Play on the engine's virtual clock, as fast as it renders (in a worker thread, so
            the event loop `perform` runs in stays free).
        setlist: The setlist played, if any (its folder is where the wire format finds seeds by name).
        options: What it was built with, the setlist's `[outputs]` filled in (`Show.build` sets it).
    """

    def __init__(self, engine: Engine, seconds: float | None = None, offline: bool = False,
                 setlist: Setlist | None = None, options: PlayOptions | None = None) -> None:
        if offline and seconds is None and (engine.songs is None or math.isinf(engine.songs.end_beat)):
            raise ValueError("an offline show needs seconds, or songs that end, to end with")
        self.engine = engine
        self.seconds = seconds
        self.offline = offline
        self.setlist = setlist
        self.options = options
        self._performed = False

    @classmethod
    def build(cls, setlist: Setlist, options: PlayOptions) -> Show:
        """Voices, sinks and engine for `setlist` as `options` ask (what `encore play` plays).

        `options` not given are taken from the setlist's `[outputs]` (`PlayOptions.with_outputs`).

        Raises:
            EncoreError: if a model cannot be loaded, an output cannot be opened, or an offline show
                has a song that plays until `Next` and no `seconds` to end.
        """
        options = options.with_outputs(setlist)
        open_song = setlist.open_song()
        if options.offline and options.seconds is None and open_song is not None:
            raise EncoreError(f"song {open_song + 1} ({setlist.song_name(open_song)}) plays until next: "
                              "an offline show needs --seconds to end")
        voices = build_voices(setlist)
        try:
            sinks = build_sinks(options)
        except BaseException:
            for voice in voices:
                voice.close()
            raise
        now: Callable[[], float] = VirtualClock() if options.offline else time.perf_counter
        return cls(build_engine(setlist, voices, sinks, now), options.seconds, options.offline, setlist, options)

    async def perform(self) -> ShowReport:
        """Play to the end (or `stop()`); sounding notes are released, outputs closed. Once per show."""
        if self._performed:
            raise RuntimeError("a show is performed once; build another")
        self._performed = True
        if self.offline:
            return await asyncio.to_thread(self.engine.run_offline, self.seconds)
        return await self.engine.run(self.seconds)

    def stop(self) -> CommandTicket:
        """End the show at the engine's next tick (any thread)."""
        return self.engine.stop()

    def submit(self, command: Command) -> CommandTicket:
        """`Engine.submit` (any thread)."""
        return self.engine.submit(command)

    def snapshot(self) -> ShowSnapshot:
        """`Engine.snapshot` (any thread)."""
        return self.engine.snapshot()

    @property
    def seeds_folder(self) -> Path | None:
        """Where the wire format looks up seeds given by name (the setlist's folder)."""
        return self.setlist.folder if self.setlist is not None else None


def play(setlist: Setlist, options: PlayOptions) -> ShowReport:
    """Build and perform a setlist in a new event loop (no signal handling: see `encore.stage.cli.play`)."""
    return asyncio.run(Show.build(setlist, options).perform())


def _check_song_drums(setlist: Setlist, drums: DrumVoice) -> None:
    """Every song's drum part is one the drum model and the groove library can play."""
    assert setlist.drums is not None
    for index, song in enumerate(setlist.songs):
        part = setlist.drums.for_song(song).part
        try:
            drums.check_part(part.mode, part.groove, part.pattern)
        except ValueError as error:
            raise EncoreError(f"song {index + 1} ({setlist.song_name(index)}): drums.{error}") from error


def _drum_voice(settings: DrumSettings, folder: Path, follow: NoteTap | None, bpm: float) -> DrumVoice:
    from encore.models.groove.library import load_library
    from encore.models.groove.model import GrooveModel

    model = GrooveModel.load(_checkpoint_in(folder, settings.checkpoint, "groove"))
    try:
        return DrumVoice(model, load_library(), settings.part, follow, bpm, "drums", settings.channel - 1,
                         settings.program, SamplingConfig(temperature=settings.temperature), settings.sampling_seed)
    except ValueError as error:
        raise EncoreError(f"drums.{error}") from error


def _piano_stream(settings: PianoSettings, folder: Path) -> PianoStream:
    import torch

    from encore.models.piano.checkpoint import PianoBundle, load_piano
    from encore.models.piano.stream import PianoStream

    # One BLAS thread decodes a small model at batch 1 several times faster than two on a loaded
    # 2-core machine (benchmarks/bench_engine.py) and leaves a core to the sender thread.
    torch.set_num_threads(settings.torch_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    int8 = settings.weights == "int8" or (settings.weights == "auto" and device == "cpu")
    if settings.checkpoint == TINY_CHECKPOINT:
        bundle = PianoBundle.random(preset=TINY_CHECKPOINT)
    else:
        bundle = load_piano(_checkpoint_in(folder, settings.checkpoint, "piano"), device=device, int8=int8)
    stream = PianoStream(bundle, seed=settings.sampling_seed)
    try:
        stream.set_style(settings.style)
    except ValueError as error:
        raise EncoreError(f"piano.{error}") from None
    return stream


def _originality_guard(settings: PianoSettings, folder: Path, guard: GuardSettings) -> OriginalityGuard | None:
    """The guard over the fingerprint index beside the piano's checkpoint as the setlist's `[guard]` asks
    (off, in one log line, if the checkpoint has none); no guard for the tiny random model, which learned no
    corpus."""
    if settings.checkpoint == TINY_CHECKPOINT:
        return None
    return open_guard(_checkpoint_in(folder, settings.checkpoint, "piano"), guard)


def _checkpoint_in(folder: Path, name: str, family: str) -> Path:
    """A setlist's checkpoint: a folder relative to the setlist, else a shipped name (`resolve_checkpoint`)."""
    from encore.models.shipped import resolve_checkpoint

    beside = (folder / name).resolve()
    try:
        return resolve_checkpoint(beside if beside.is_dir() else name, family)
    except EncoreError as error:
        raise EncoreError(f"{'drums' if family == 'groove' else family}: {error}") from None
