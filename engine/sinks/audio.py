"""Live audio: the synth played through sounddevice (PortAudio) on JACK when a JACK server runs, else
on the machine's default output device, or on a device named by the performer.

With no usable device the sink is still made: its status is `off` with the reason, it plays nothing,
and the show's other outputs (MIDI ports, recording, WAV) play on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.synth import Synth, SynthError
from encore.models.errors import EncoreError

log = logging.getLogger(__name__)

JACK_HOST_API = "JACK Audio Connection Kit"
CHANNELS = 2

_streams_lock = threading.Lock()
_open_streams = 0
"""Audio streams open in this process: PortAudio re-scans its devices only while there are none."""


class AudioUnavailable(EncoreError):
    """No audio output can be used; the message says why, in one line."""


@dataclass(frozen=True)
class AudioOutput:
    """An output device PortAudio offers.

    Attributes:
        index: PortAudio's device index.
        name: The device's name (`system` for JACK's).
        host_api: `JACK Audio Connection Kit`, `ALSA`, ...
        sample_rate: Its default sample rate (a JACK device takes the server's only).
    """

    index: int
    name: str
    host_api: str
    sample_rate: int


def find_output(device: str | None = None) -> AudioOutput:
    """The output to play on: `device` (a name or part of it) if given, else JACK's when a JACK server
    runs, else the default output device. PortAudio's device list is re-scanned first (it is read once
    per process otherwise, so a JACK server started later would not be seen), unless a stream is open.

    Raises:
        AudioUnavailable: saying why no output can be used.
    """
    try:
        import sounddevice
    except OSError as error:  # the PortAudio library itself is missing
        raise AudioUnavailable(f"PortAudio is not installed ({error})") from None
    with _streams_lock:
        if _open_streams == 0:  # sounddevice's documented way to re-scan the devices
            while sounddevice._initialized:
                sounddevice._terminate()
            sounddevice._initialize()
    try:
        if device is not None:
            info = sounddevice.query_devices(device, kind="output")
        else:
            jack = next((api for api in sounddevice.query_hostapis()
                         if api["name"] == JACK_HOST_API and api["default_output_device"] >= 0), None)
            info = sounddevice.query_devices(jack["default_output_device"] if jack else None, kind="output")
    except (sounddevice.PortAudioError, ValueError) as error:
        reason = f"no output device named {device!r}" if device is not None else "no audio output device"
        raise AudioUnavailable(f"{reason} ({' '.join(str(error).split())})") from None
    if info["max_output_channels"] < CHANNELS:
        raise AudioUnavailable(f"output device {info['name']!r} has fewer than {CHANNELS} channels")
    host_api = sounddevice.query_hostapis(info["hostapi"])["name"]
    return AudioOutput(info["index"], info["name"], host_api, round(info["default_samplerate"]))


def release_devices() -> None:
    """Let go of PortAudio (and the JACK client its JACK host API holds) while no stream is open, so a
    JACK server can go away without PortAudio failing at exit; `find_output` takes it up again."""
    try:
        import sounddevice
    except OSError:
        return
    with _streams_lock:
        while _open_streams == 0 and sounddevice._initialized:
            sounddevice._terminate()


class AudioSink(Sink):
    """Applies each event to the synth at once; the audio callback pulls samples from it.

    Args:
        soundfont: SoundFont for the synth (FluidR3_GM by default).
        sample_rate: Frames per second (None: the device's own rate, which JACK requires).
        block_frames: Frames per audio callback (latency).
        device: The output device, a name or part of it (None: see `find_output`).

    Raises:
        SynthError: for a SoundFont FluidSynth cannot load (a missing device is not an error: the
            sink is `off`).
    """

    kind = "audio"

    def __init__(self, soundfont: Path | None = None, sample_rate: int | None = None, block_frames: int = 256,
                 device: str | None = None) -> None:
        super().__init__("audio")
        self.block_frames = block_frames
        self.device = device
        self.output: AudioOutput | None = None
        self.synth: Synth | None = None
        self.off_reason = ""
        self._lock = threading.Lock()
        self._stream: Any = None
        try:
            self.output = find_output(device)
            self.synth = Synth(soundfont, sample_rate or self.output.sample_rate)
            self._stream = self._start()
        except AudioUnavailable as error:
            self.off_reason = str(error)
            log.warning("live audio off: %s (the other outputs play on)", self.off_reason)

    @property
    def off(self) -> bool:
        """Whether there is no audio output (`off_reason` says why)."""
        return self._stream is None

    def _start(self) -> Any:
        global _open_streams
        import sounddevice

        assert self.output is not None and self.synth is not None
        try:
            stream = sounddevice.OutputStream(samplerate=self.synth.sample_rate, channels=CHANNELS, dtype="int16",
                                              blocksize=self.block_frames, device=self.output.index,
                                              callback=self._callback)
            stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise AudioUnavailable(f"output {self.output.name!r} ({self.output.host_api}) cannot play: "
                                   f"{' '.join(str(error).split())}") from None
        with _streams_lock:
            _open_streams += 1
        return stream

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        with self._lock:
            outdata[:] = self.synth.render(frames) if self.synth is not None else 0

    def status(self) -> SinkStatus:
        """`open` on which device, `off` and why, `stopped` or `closed`."""
        if self.off:
            return SinkStatus(self.name, self.kind, "closed" if self.closed else "off", self.off_reason)
        if self.closed:
            return SinkStatus(self.name, self.kind, "closed")
        assert self.output is not None and self.synth is not None
        detail = (f"{self.output.name} ({self.output.host_api}), {self.synth.sample_rate} Hz, "
                  f"{self.block_frames} frames per block")
        return SinkStatus(self.name, self.kind, "open" if self._stream.active else "stopped", detail)

    def _send(self, event: MidiEvent) -> None:
        if self.off:
            return
        if not self._stream.active:
            raise SynthError("audio stream stopped")
        with self._lock:
            assert self.synth is not None
            self.synth.apply(event.message)

    def reopen(self) -> bool:
        """Start the stream again, on the same device if it is still there (the synth keeps its state)."""
        if self.off:
            return False
        self._close_stream()
        try:
            self.output = find_output(self.device)
            self._stream = self._start()
        except AudioUnavailable as error:
            self.off_reason = str(error)
            return False
        return True

    def _close(self) -> None:
        self._close_stream()
        release_devices()
        if self.synth is not None:
            self.synth.close()

    def _close_stream(self) -> None:
        global _open_streams
        if self._stream is None:
            return
        stream, self._stream = self._stream, None
        try:
            stream.stop()
            stream.close()
        finally:
            with _streams_lock:
                _open_streams -= 1
