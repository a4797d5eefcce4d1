"""The SoundFont synthesizer (FluidSynth): raw MIDI bytes in, 16-bit stereo samples out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from encore.engine.midi import CONTROL_CHANGE, NOTE_OFF, NOTE_ON, PROGRAM_CHANGE
from encore.models.errors import EncoreError

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
DEFAULT_SAMPLE_RATE = 44100

# FluidSynth call for each channel-message status; arguments are the channel and the data bytes.
_HANDLERS: dict[int, Callable[[Any, int, tuple[int, ...]], object]] = {
    NOTE_ON: lambda fs, channel, data: fs.noteon(channel, data[0], data[1]),
    NOTE_OFF: lambda fs, channel, data: fs.noteoff(channel, data[0]),
    CONTROL_CHANGE: lambda fs, channel, data: fs.cc(channel, data[0], data[1]),
    PROGRAM_CHANGE: lambda fs, channel, data: fs.program_change(channel, data[0]),
}


class SynthError(EncoreError):
    """A SoundFont or audio device that cannot be used."""


class Synth:
    """A FluidSynth instance with one SoundFont loaded, rendered by pulling samples.

    Args:
        soundfont: A .sf2/.sf3 file; FluidR3_GM (Debian's fluid-soundfont-gm) by default.
        sample_rate: Frames per second.
        gain: FluidSynth master gain.

    Raises:
        SynthError: if the SoundFont is missing or FluidSynth rejects it.
    """

    def __init__(self, soundfont: Path | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE, gain: float = 0.5) -> None:
        import fluidsynth

        path = soundfont or DEFAULT_SOUNDFONT
        if path.suffix.lower() not in SOUNDFONT_SUFFIXES or not path.is_file():
            raise SynthError(f"SoundFont {path} is not an existing .sf2/.sf3 file")
        self.sample_rate = sample_rate
        self._fs = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate))
        if self._fs.sfload(str(path)) < 0:
            self._fs.delete()
            raise SynthError(f"FluidSynth could not load SoundFont {path}")

    def apply(self, message: tuple[int, ...]) -> None:
        """Play one channel message; other messages are ignored."""
        handler = _HANDLERS.get(message[0] & 0xF0)
        if handler is not None:
            handler(self._fs, message[0] & 0x0F, message[1:])

    def render(self, frames: int) -> np.ndarray:
        """The next `frames` frames as int16, shape `(frames, 2)`."""
        return np.asarray(self._fs.get_samples(frames), dtype=np.int16).reshape(frames, 2)

    def close(self) -> None:
        """Free the synthesizer."""
        self._fs.delete()
