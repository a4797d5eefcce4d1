"""Offline audio: renders the show through the synth into a WAV file, placed by event time.

Samples are rendered up to each event's show time, then the event is played, so the file is the
same whether the show ran in real time or faster: its length is the show plus `tail_s` of release.
"""

from __future__ import annotations

import wave
from pathlib import Path

from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.synth import DEFAULT_SAMPLE_RATE, Synth

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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._wave = wave.open(str(path), "wb")
        self._wave.setnchannels(CHANNELS)
        self._wave.setsampwidth(BYTES_PER_SAMPLE)
        self._wave.setframerate(sample_rate)
        self.path = path
        self.frames = 0

    def status(self) -> SinkStatus:
        """The WAV file and the seconds rendered into it so far."""
        return SinkStatus(self.name, self.kind, "closed" if self.closed else "open", str(self.path),
                          self.frames / self.synth.sample_rate)

    def _send(self, event: MidiEvent) -> None:
        self._render_to(round(event.time * self.synth.sample_rate))
        self.synth.apply(event.message)

    def _close(self) -> None:
        self._render_to(self.frames + round(self.tail_s * self.synth.sample_rate))
        self._wave.close()
        self.synth.close()

    def _render_to(self, frame: int) -> None:
        while self.frames < frame:
            count = min(self.block_frames, frame - self.frames)
            self._wave.writeframes(self.synth.render(count).tobytes())
            self.frames += count
