"""Notes to audio for the audio rewards: FluidSynth (the engine's `Synth`) offline, in a worker pool.

Each worker process owns one synth with the SoundFont loaded once. A piece is rendered from its first
`crop_s` seconds (SMART's 10-second crops): note-ons at or after the crop's end are dropped, and the
crop is always exactly `crop_s` long, so a short piece ends in silence. The stereo int16 output becomes
mono float32 in [-1, 1]. Silence and clipping are explicit: `Rendered.silent` flags crops whose RMS is
below `SILENCE_RMS` (the rewards give them 0), `Rendered.clipped` counts samples at full scale, and
`normalize=True` peak-normalizes each non-silent crop (off by default: loudness is part of the music).
Between pieces the synth is silenced (All Sound Off, controllers reset) and drained until its reverb
and chorus tails are zero, so a piece never hears the one before it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.engine.midi import CONTROL_CHANGE, NOTE_OFF, NOTE_ON, PROGRAM_CHANGE
from encore.engine.synth import DEFAULT_SOUNDFONT, Synth
from encore.training.grpo.timing import TimedNote

SILENCE_RMS = 1e-4
"""Crops quieter than this RMS (-80 dBFS) count as silent."""
FULL_SCALE = 32767
ALL_SOUND_OFF, RESET_CONTROLLERS = 120, 121
DRAIN_LIMIT_S = 5.0
ACOUSTIC_GRAND_PIANO = 0


@dataclass(frozen=True)
class RenderConfig:
    """How pieces are rendered.

    Attributes:
        soundfont: the .sf2/.sf3 file.
        sample_rate: output frames per second (mono).
        crop_s: seconds per crop.
        gain: FluidSynth master gain.
        block_frames: frames per synth call between events (larger is faster offline).
        normalize: peak-normalize each non-silent crop to 0.9.
        workers: worker processes (0: render in the calling process).
    """

    soundfont: Path = DEFAULT_SOUNDFONT
    sample_rate: int = 16000
    crop_s: float = 10.0
    gain: float = 0.4
    block_frames: int = 4096
    normalize: bool = False
    workers: int = 2

    @property
    def frames(self) -> int:
        """Frames per crop."""
        return round(self.crop_s * self.sample_rate)


@dataclass
class Rendered:
    """A batch of crops.

    Attributes:
        audio: (N, frames) float32 mono in [-1, 1].
        silent: (N,) bool, RMS below `SILENCE_RMS`.
        clipped: (N,) int, samples at full scale in either channel.
        sample_rate: frames per second.
    """

    audio: np.ndarray
    silent: np.ndarray
    clipped: np.ndarray
    sample_rate: int


def _events(notes: Sequence[TimedNote], crop_s: float) -> list[tuple[float, int, int, int]]:
    """(time_s, is_on, pitch, velocity) of the notes starting in the crop, note-offs first at equal times."""
    events = []
    for note in notes:
        if 0 <= note.onset_s < crop_s:
            events.append((note.onset_s, 1, note.pitch, max(1, min(127, note.velocity))))
            events.append((note.onset_s + max(note.duration_s, 0.0), 0, note.pitch, 0))
    events.sort()
    return events


def render_piece(synth: Synth, notes: Sequence[TimedNote], config: RenderConfig) -> tuple[np.ndarray, int]:
    """One crop of `notes` through `synth`: mono float32 audio and its count of full-scale samples."""
    total = config.frames
    stereo = np.zeros((total, 2), dtype=np.int16)
    done = 0

    def render_to(frame: int) -> None:
        nonlocal done
        frame = min(frame, total)
        while done < frame:
            count = min(config.block_frames, frame - done)
            stereo[done:done + count] = synth.render(count)
            done += count

    synth.apply((PROGRAM_CHANGE, ACOUSTIC_GRAND_PIANO))
    for time_s, is_on, pitch, velocity in _events(notes, config.crop_s):
        render_to(round(time_s * config.sample_rate))
        if done >= total:
            break
        synth.apply((NOTE_ON, pitch, velocity) if is_on else (NOTE_OFF, pitch, 0))
    render_to(total)
    silence(synth, config)
    clipped = int((np.abs(stereo.astype(np.int32)) >= FULL_SCALE).any(axis=1).sum())
    return stereo.mean(axis=1, dtype=np.float32) / 32768.0, clipped


def silence(synth: Synth, config: RenderConfig) -> None:
    """Stop every voice and render until the effects' tails are zero (at most `DRAIN_LIMIT_S`)."""
    for channel in range(16):
        synth.apply((CONTROL_CHANGE | channel, ALL_SOUND_OFF, 0))
        synth.apply((CONTROL_CHANGE | channel, RESET_CONTROLLERS, 0))
    for _ in range(int(DRAIN_LIMIT_S * config.sample_rate / config.block_frames) + 1):
        if not synth.render(config.block_frames).any():
            break


def finish(pieces: list[tuple[np.ndarray, int]], config: RenderConfig) -> Rendered:
    """Stack rendered pieces, flag silence, and peak-normalize if asked."""
    audio = np.stack([piece for piece, _ in pieces]) if pieces else np.zeros((0, config.frames), np.float32)
    rms = np.sqrt((audio.astype(np.float64) ** 2).mean(axis=1)) if len(audio) else np.zeros(0)
    silent = rms < SILENCE_RMS
    if config.normalize:
        peaks = np.abs(audio).max(axis=1, initial=0.0)
        scale = np.where(silent, 1.0, 0.9 / np.maximum(peaks, 1e-9)).astype(np.float32)
        audio = audio * scale[:, None]
    return Rendered(audio.astype(np.float32), silent, np.array([c for _, c in pieces], dtype=np.int64),
                    config.sample_rate)


_WORKER: tuple[Synth, RenderConfig] | None = None


def _init_worker(config: RenderConfig) -> None:
    global _WORKER
    _WORKER = (Synth(config.soundfont, config.sample_rate, gain=config.gain), config)


def _render_in_worker(notes: Sequence[TimedNote]) -> tuple[np.ndarray, int]:
    assert _WORKER is not None, "render worker not initialised"
    synth, config = _WORKER
    return render_piece(synth, notes, config)


class Renderer:
    """Renders batches of note lists to crops, in `config.workers` processes (spawned once, reused).

    Use as a context manager or call `close()`.

    Raises:
        SynthError: the SoundFont is missing or unreadable (checked at construction).
    """

    def __init__(self, config: RenderConfig | None = None) -> None:
        self.config = config or RenderConfig()
        self._local = Synth(self.config.soundfont, self.config.sample_rate, gain=self.config.gain)
        self._pool = None
        if self.config.workers > 0:
            self._local.close()
            self._local = None
            context = multiprocessing.get_context("spawn")  # no forked copies of torch's threads
            self._pool = context.Pool(self.config.workers, initializer=_init_worker, initargs=(self.config,))

    def render(self, pieces: Sequence[Sequence[TimedNote]]) -> Rendered:
        """Crops of each piece (notes in seconds from the crop's start)."""
        pieces = [[TimedNote(*note) for note in piece] for piece in pieces]
        if self._pool is not None:
            chunk = max(1, len(pieces) // (4 * self.config.workers))
            results = self._pool.map(_render_in_worker, pieces, chunksize=chunk)
        else:
            results = [render_piece(self._local, piece, self.config) for piece in pieces]
        return finish(results, self.config)

    def close(self) -> None:
        """Stop the workers and free the synths."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
