"""Live audio on JACK: with a JACK server running, the synth plays through PortAudio's JACK host API,
and a JACK client reading its ports back hears the show, for as long as the show lasts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from engine_helpers import eighths

from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.audio import JACK_HOST_API, AudioSink
from encore.engine.sinks.base import MemorySink

SHOW_S = 2.0
BPM = 240.0
LOUD = 0.01
"""A frame counts as sound above this (JACK's float samples run -1..1; the synth's notes reach ~0.1)."""


class JackReader:
    """A JACK client with two input ports that keeps every frame it is given."""

    def __init__(self, server: str) -> None:
        import jack

        self.client = jack.Client("encore-audio-reader", no_start_server=True, servername=server)
        self.ports = [self.client.inports.register(f"in_{i}") for i in range(2)]
        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, _frames: int) -> None:
        block = np.stack([port.get_array().copy() for port in self.ports], axis=1)
        with self._lock:
            self._blocks.append(block)

    def connect_from_others(self) -> list[str]:
        """Connect every audio output that is neither the server's nor ours; returns their names."""
        sources = [port for port in self.client.get_ports(is_audio=True, is_output=True)
                   if not port.name.startswith(("system:", "encore-audio-reader:"))]
        for source, port in zip(sources, self.ports, strict=False):
            self.client.connect(source, port)
        return [port.name for port in sources]

    def samples(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._blocks) if self._blocks else np.zeros((0, 2), dtype=np.float32)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


@pytest.fixture
def reader(jack_server: str) -> Iterator[JackReader]:
    try:
        import jack  # noqa: F401 - the test extra's JACK-Client
    except (ImportError, OSError) as error:
        pytest.fail(f"JACK-Client cannot be imported ({error}): install the test extra", pytrace=False)
    reader = JackReader(jack_server)
    try:
        yield reader
    finally:
        reader.close()


def test_the_synth_plays_on_jack_and_a_jack_client_hears_the_whole_show(reader: JackReader) -> None:
    audio = AudioSink()
    status = audio.status()
    assert status.state == "open" and JACK_HOST_API in status.detail, status
    assert audio.synth is not None and audio.synth.sample_rate == reader.client.samplerate == 48000
    sources = reader.connect_from_others()
    assert len(sources) == 2, sources  # the synth's left and right
    memory = MemorySink()
    engine = Engine([eighths()], [audio, memory], EngineConfig(bpm=BPM))
    asyncio.run(engine.run(SHOW_S))
    samples = reader.samples()
    rate = reader.client.samplerate
    loud = np.flatnonzero(np.abs(samples).max(axis=1) > LOUD)
    assert loud.size, "silence on JACK"
    heard_s = (loud[-1] - loud[0]) / rate
    # Sound from the first note to the end of the show, when the stream closes: about the show's length.
    assert SHOW_S - 0.3 <= heard_s <= SHOW_S + 0.2, heard_s
    # And it is the show's music: its loudness pulses 8 times a second, as eighths at 240 bpm do.
    block = rate // 200  # 5 ms
    heard = np.abs(samples[loud[0]:loud[-1], 0])
    envelope = heard[: len(heard) // block * block].reshape(-1, block).max(axis=1)
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    frequencies = np.fft.rfftfreq(len(envelope), d=block / rate)
    pulse = frequencies[1:][np.argmax(spectrum[1:])]
    assert pulse == pytest.approx(BPM / 60.0 * 2, abs=0.5), pulse
    assert audio.status().state == "closed"
