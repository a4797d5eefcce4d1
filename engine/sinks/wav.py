"""Audio to a file: renders the show through the synth into a WAV file, placed by event time.

Samples are rendered up to each event's show time, then the event is played, so the file is the
same whether the show ran in real time or faster: its length is the show plus `tail_s` of release.
Rendering runs in a writer thread of its own, so a real-time show's sender thread only hands the
event over and never waits for the synth.
"""

from __future__ import annotations

import queue
import threading
import wave
from pathlib import Path

from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.synth import DEFAULT_SAMPLE_RATE, Synth, SynthError

BYTES_PER_SAMPLE = 2
CHANNELS = 2


class WavSink(Sink):
    """Writes the synthesized show to `path` as 16-bit stereo PCM.

    Args:
        path: The WAV file.
        soundfont: SoundFont for the synth (FluidR3_GM by default).
        sample_rate: Frames per second.
        block_frames: Frames rendered per `get_samples` call.
        tail_s: Seconds rendered after the last event, so releases ring out.
    """

    kind = "wav"

    def __init__(
        self,
        path: Path,
        soundfont: Path | None = None,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        block_frames: int = 1024,
        tail_s: float = 1.0,
    ) -> None:
        super().__init__(f"wav:{path}")
        self.synth = Synth(soundfont, sample_rate)
        self.block_frames = block_frames
        self.tail_s = tail_s
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._wave = wave.open(str(path), "wb")
        except OSError as error:
            self.synth.close()
            raise SynthError(f"cannot write WAV file {path}: {error.strerror}") from error
        self._wave.setnchannels(CHANNELS)
        self._wave.setsampwidth(BYTES_PER_SAMPLE)
        self._wave.setframerate(sample_rate)
        self.path = path
        self.frames = 0
        self._events: queue.SimpleQueue[MidiEvent | None] = queue.SimpleQueue()
        self._error: OSError | None = None
        self._writer = threading.Thread(target=self._write, name=f"wav-{path.name}", daemon=True)
        self._writer.start()

    def status(self) -> SinkStatus:
        """The WAV file and the seconds rendered into it so far."""
        return SinkStatus(self.name, self.kind, "closed" if self.closed else "open", str(self.path),
                          self.frames / self.synth.sample_rate)

    def _send(self, event: MidiEvent) -> None:
        if self._error is not None:
            raise self._error
        self._events.put(event)

    def _close(self) -> None:
        self._events.put(None)
        self._writer.join()
        try:
            if self._error is None:
                self._render_to(self.frames + round(self.tail_s * self.synth.sample_rate))
        finally:
            self._wave.close()
            self.synth.close()

    def _write(self) -> None:
        """The writer thread: renders up to each event's time, then plays it, until `close`."""
        while (event := self._events.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._render_to(round(event.time * self.synth.sample_rate))
            except OSError as error:  # a full disk: reported at the next send, the show goes on
                self._error = error
                continue
            self.synth.apply(event.message)

    def _render_to(self, frame: int) -> None:
        while self.frames < frame:
            count = min(self.block_frames, frame - self.frames)
            self._wave.writeframes(self.synth.render(count).tobytes())
            self.frames += count
