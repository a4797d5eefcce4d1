"""From a setlist and the command line's choices to a running show: voices, sinks, cues, signals."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from encore.engine.clock import VirtualClock
from encore.engine.control import Reseed, SetSampling, SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ShowReport
from encore.engine.setlist import DrumSettings, PianoSettings, Setlist
from encore.engine.sinks.base import Sink
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import DrumVoice
from encore.engine.voices.note_tap import NoteTap
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
        midi_type: 1 (a track per voice) or 0.
        wav: WAV file to render into.
        midi_port: MIDI output port name.
        midi_api: "alsa" or "jack".
        virtual_port: Create `midi_port` as a virtual port instead of connecting to an existing one.
        soundfont: SoundFont for the synth.
    """

    headless: bool = False
    realtime: bool = False
    seconds: float | None = None
    record: Path | None = None
    midi_type: int = 1
    wav: Path | None = None
    midi_port: str | None = None
    midi_api: str = "alsa"
    virtual_port: bool = False
    soundfont: Path | None = None

    @property
    def offline(self) -> bool:
        """Whether the show runs on a virtual clock, as fast as it renders."""
        return self.headless and not self.realtime and self.midi_port is None


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
        piano = PianoVoice(stream, setlist.seed_path(first), "piano", setlist.piano.channel - 1,
                           setlist.piano.program, first.sampling)
        if setlist.drums is not None:
            piano.tap = piano_tap = NoteTap()
        voices.append(piano)
    if setlist.drums is not None:
        voices.append(_drum_voice(setlist.drums, setlist.folder, piano_tap, first.tempo))
    if setlist.click is not None:
        numerator = setlist.time_signature[0]
        voices.append(PatternVoice("click", setlist.click.channel - 1, click_pattern(numerator, setlist.click.step_beats),
                                   setlist.bar_beats, setlist.click.program))
    return voices


def build_sinks(options: PlayOptions) -> list[Sink]:
    """The outputs asked for; a live show with no MIDI port plays through the sound card.

    Raises:
        EncoreError: if a live show has neither an audio device nor a MIDI port.
    """
    from encore.engine.sinks.audio import AudioSink, has_output_device
    from encore.engine.sinks.midi_out import MidiOutSink
    from encore.engine.sinks.recorder import RecorderSink
    from encore.engine.sinks.wav import WavSink

    sinks: list[Sink] = []
    if options.midi_port is not None:
        sinks.append(MidiOutSink(options.midi_port, options.midi_api, options.virtual_port))
    if not options.headless and options.midi_port is None:
        if not has_output_device():
            raise EncoreError("no audio output device and no --midi-port: use --headless to render a WAV")
        sinks.append(AudioSink(options.soundfont))
    if options.wav is not None:
        sinks.append(WavSink(options.wav, options.soundfont))
    if options.record is not None:
        sinks.append(RecorderSink(options.record, options.midi_type))
    return sinks


def build_engine(setlist: Setlist, voices: list[Voice], sinks: list[Sink], now: Callable[[], float]) -> Engine:
    """An engine at the first song's tempo, with every later song cued at its bar line."""
    config = EngineConfig(bpm=setlist.songs[0].tempo, time_signature=setlist.time_signature,
                          lookahead_bars=setlist.show.lookahead_bars)
    engine = Engine(voices, sinks, config, now)
    for song, start in list(zip(setlist.songs, setlist.song_starts(), strict=True))[1:]:
        engine.cue(SetTempo(song.tempo), start)
        if setlist.piano is not None:
            engine.cue(Reseed(setlist.seed_path(song), "piano"), start)
            engine.cue(SetSampling.to("piano", song.sampling), start)
    return engine


def play(setlist: Setlist, options: PlayOptions) -> ShowReport:
    """Play a setlist to the end (or `options.seconds`, or SIGINT/SIGTERM); sounding notes are released."""
    seconds = options.seconds if options.seconds is not None else setlist.seconds()
    voices = build_voices(setlist)
    sinks = build_sinks(options)
    now: Callable[[], float] = VirtualClock() if options.offline else time.perf_counter
    engine = build_engine(setlist, voices, sinks, now)
    previous = {sig: signal.signal(sig, lambda *_: engine.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if options.offline:
            return engine.run_offline(seconds)
        return asyncio.run(engine.run(seconds))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    return PianoStream(bundle, seed=settings.sampling_seed)


def _checkpoint_in(folder: Path, name: str, family: str) -> Path:
    """A setlist's checkpoint: a folder relative to the setlist, else a shipped name (`resolve_checkpoint`)."""
    from encore.models.shipped import resolve_checkpoint

    beside = (folder / name).resolve()
    try:
        return resolve_checkpoint(beside if beside.is_dir() else name, family)
    except EncoreError as error:
        raise EncoreError(f"{'drums' if family == 'groove' else family}: {error}") from None
