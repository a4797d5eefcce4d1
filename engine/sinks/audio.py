"""Live audio: the synth played through the default output device with sounddevice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.synth import DEFAULT_SAMPLE_RATE, Synth, SynthError


def has_output_device() -> bool:
    """Whether PortAudio is installed and sees an output device (false on servers and CI)."""
    try:
        import sounddevice
    except OSError:  # the PortAudio library itself is missing
        return False
    try:
        sounddevice.query_devices(kind="output")
    except (sounddevice.PortAudioError, ValueError):
        return False
    return True


class AudioSink(Sink):
    """Applies each event to the synth at once; the audio callback pulls samples from it.

    Args:
        soundfont: SoundFont for the synth (FluidR3_GM by default).
        sample_rate: Frames per second.
        block_frames: Frames per audio callback (latency).

    Raises:
        SynthError: if there is no output device or the stream cannot start.
    """

    kind = "audio"

    def __init__(self, soundfont: Path | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE, block_frames: int = 256) -> None:
        super().__init__("audio")
        self.synth = Synth(soundfont, sample_rate)
        self.block_frames = block_frames
        self._lock = threading.Lock()
        self._stream = self._start()

    def _start(self) -> Any:
        import sounddevice

        try:
            stream = sounddevice.OutputStream(samplerate=self.synth.sample_rate, channels=2, dtype="int16",
                                              blocksize=self.block_frames, callback=self._callback)
            stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise SynthError(f"no usable audio output: {error}") from error
        return stream

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        with self._lock:
            outdata[:] = self.synth.render(frames)

    def status(self) -> SinkStatus:
        """Whether the audio stream is running on the output device."""
        if self.closed:
            return SinkStatus(self.name, self.kind, "closed")
        active = bool(self._stream.active)
        return SinkStatus(self.name, self.kind, "open" if active else "stopped",
                          f"{self.synth.sample_rate} Hz, {self.block_frames} frames per block")

    def _send(self, event: MidiEvent) -> None:
        if not self._stream.active:
            raise SynthError("audio stream stopped")
        with self._lock:
            self.synth.apply(event.message)

    def reopen(self) -> bool:
        """Restart the audio stream on the default device."""
        self._stream.close()
        self._stream = self._start()
        return True

    def _close(self) -> None:
        self._stream.stop()
        self._stream.close()
        self.synth.close()
