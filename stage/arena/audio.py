"""Chunks to compressed audio: the piano SoundFont through the GRPO renderer's worker pool, then Ogg.

Each chunk is rendered from `preroll_s` before its start, with the notes of the whole entry that start
in that window, and the pre-roll is cut off: a chord struck just before the chunk rings into it as it
does in the whole entry (a note struck more than `preroll_s` earlier is not heard). The audio is mono
(the renderer's mix of FluidSynth's stereo), not normalized, and encoded as Ogg Vorbis (44.1 kHz) or
Ogg Opus (48 kHz) with libsndfile; encoding runs in a thread while the next batch renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.models.errors import EncoreError
from encore.stage.arena.entries import Chunk
from encore.training.challenge.timeline import TimedNote
from encore.training.grpo import timing
from encore.training.grpo.render import RenderConfig, Renderer

#: libsndfile subtype and default sample rate of each codec (Opus only takes 8, 12, 16, 24 or 48 kHz).
CODECS = {"vorbis": ("VORBIS", 44100), "opus": ("OPUS", 48000)}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
AUDIO_SUFFIX = ".ogg"


@dataclass(frozen=True)
class AudioConfig:
    """How chunks are rendered and encoded.

    Attributes:
        codec: `vorbis` or `opus`, both in an Ogg file.
        sample_rate: Frames per second; 0 takes the codec's default.
        preroll_s: Seconds rendered before each chunk and cut off.
        workers: Render processes (0: in this process).
        batch_chunks: Chunks rendered per call to the pool.
        soundfont: The piano SoundFont.
    """

    codec: str = "vorbis"
    sample_rate: int = 0
    preroll_s: float = 5.0
    workers: int = 2
    batch_chunks: int = 8
    soundfont: Path = field(default=DEFAULT_SOUNDFONT)

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise EncoreError(f"codec {self.codec!r}: use one of {', '.join(CODECS)}")
        if self.sample_rate == 0:
            object.__setattr__(self, "sample_rate", CODECS[self.codec][1])
        if self.sample_rate < 8000 or (self.codec == "opus" and self.sample_rate not in OPUS_RATES):
            allowed = ", ".join(map(str, OPUS_RATES)) if self.codec == "opus" else "8000 or more"
            raise EncoreError(f"sample rate {self.sample_rate} Hz does not suit {self.codec} ({allowed})")
        if self.preroll_s < 0 or self.batch_chunks < 1 or self.workers < 0:
            raise EncoreError("preroll must be >= 0, batch_chunks >= 1 and workers >= 0")

    def render_config(self, chunk_s: float) -> RenderConfig:
        """The renderer's settings for chunks of `chunk_s` seconds."""
        return RenderConfig(soundfont=self.soundfont, sample_rate=self.sample_rate, crop_s=self.preroll_s + chunk_s,
                            workers=self.workers)


def render_notes(notes: Sequence[TimedNote], start_s: float, span_s: float) -> list[timing.TimedNote]:
    """Notes starting in [start_s, start_s + span_s), as the renderer takes them (seconds from `start_s`)."""
    return [timing.TimedNote(n.onset_s - start_s, n.pitch, n.velocity, n.end_s - n.onset_s)
            for n in notes if start_s <= n.onset_s < start_s + span_s]


def render_chunks(notes: Sequence[TimedNote], chunks: Sequence[Chunk], folder: Path, config: AudioConfig,
                  progress: Callable[[int], None] | None = None) -> list[Path]:
    """Render and encode every chunk of one entry into `folder` (`000.ogg`, `001.ogg`, ...).

    Args:
        notes: The whole entry's notes in seconds.
        chunks: Its chunks, all of one length.
        folder: Where the files go (it must exist).
        config: Codec, sample rate, pre-roll, workers.
        progress: Called with the number of chunks just finished.

    Raises:
        SynthError: the SoundFont is missing or unreadable.
    """
    if not chunks:
        return []
    span_s = config.preroll_s + chunks[0].length_s
    paths = [folder / f"{chunk.index:03d}{AUDIO_SUFFIX}" for chunk in chunks]
    with Renderer(config.render_config(chunks[0].length_s)) as renderer, ThreadPoolExecutor(1) as encoder:
        pending: Future | None = None
        for first in range(0, len(chunks), config.batch_chunks):
            batch = chunks[first:first + config.batch_chunks]
            rendered = renderer.render([render_notes(notes, c.start_s - config.preroll_s, span_s) for c in batch])
            if pending is not None:
                pending.result()
            pending = encoder.submit(_encode_batch, rendered.audio, paths[first:first + len(batch)], config, progress)
        assert pending is not None
        pending.result()
    return paths


def encode(path: Path, audio: np.ndarray, config: AudioConfig) -> Path:
    """Write mono float32 audio as an Ogg file of the configured codec."""
    soundfile.write(path, audio, config.sample_rate, format="OGG", subtype=CODECS[config.codec][0])
    return path


def _encode_batch(audio: np.ndarray, paths: Sequence[Path], config: AudioConfig,
                  progress: Callable[[int], None] | None) -> None:
    skip = round(config.preroll_s * config.sample_rate)
    for piece, path in zip(audio, paths, strict=True):
        encode(path, piece[skip:], config)
    if progress is not None:
        progress(len(paths))
