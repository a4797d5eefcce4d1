"""MIDI files in and out of the groove models: drum scores, tapped grooves, and whole-file processing.

A file of any length is cut into consecutive two-bar windows (the last one zero-padded), each window is
processed on its own and the results are joined back. Every problem with an input file (unreadable,
not 4/4, no drum notes, no notes at all) raises `GrooveInputError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mido
import numpy as np

from encore.models.groove.drum_map import DRUM_CHANNEL, ROLAND_PITCH_CLASSES
from encore.models.groove.grid import (
    WINDOW_STEPS,
    DrumLoop,
    GrooveInputError,
    Onset,
    check_four_four,
    drum_loop,
    first_tempo,
    onsets,
    read_midi,
)


@dataclass(frozen=True)
class LoadedLoop:
    """A file read onto the grid, with its tempo (bpm) and resolution (ticks per beat)."""

    loop: DrumLoop
    bpm: float
    ticks_per_beat: int


def _open(path: str) -> mido.MidiFile:
    midi = read_midi(path)
    check_four_four(midi, path)
    return midi


def read_drum_score(path: str) -> LoadedLoop:
    """A drum file's channel-10 notes on the grid.

    Raises:
        GrooveInputError: unreadable, not 4/4, no notes, or no drum notes we know on channel 10.
    """
    midi = _open(path)
    notes = onsets(midi)
    if not notes:
        raise GrooveInputError(f"{path}: holds no notes (empty pattern)")
    drums = [n for n in notes if n.channel == DRUM_CHANNEL]
    if not drums:
        raise GrooveInputError(f"{path}: no notes on channel 10; humanize needs a drum score (General MIDI drums)")
    loop = drum_loop(drums, midi.ticks_per_beat, WINDOW_STEPS)
    if not loop.hits.any():
        raise GrooveInputError(f"{path}: no General MIDI drum pitches on channel 10 (empty pattern)")
    return LoadedLoop(loop, first_tempo(midi), midi.ticks_per_beat)


def read_tap(path: str) -> tuple[np.ndarray, float]:
    """Any MIDI file's onsets, on every channel, squashed to a groove.

    Returns:
        The groove, (steps, 3) of hit, velocity and offset per step (steps a multiple of 32), and the bpm.

    Raises:
        GrooveInputError: unreadable, not 4/4 or without notes.
    """
    midi = _open(path)
    notes = onsets(midi)
    if not notes:
        raise GrooveInputError(f"{path}: holds no notes (empty pattern): nothing to drumify")
    kick = ROLAND_PITCH_CLASSES[0][0]
    one_pad = [Onset(n.tick, kick, n.velocity, DRUM_CHANNEL) for n in notes]
    loop = drum_loop(one_pad, midi.ticks_per_beat, WINDOW_STEPS)
    steps = -(-loop.steps // WINDOW_STEPS) * WINDOW_STEPS
    loop = loop.window(0, steps)
    groove = np.stack([loop.hits[:, 0], loop.velocities[:, 0], loop.offsets[:, 0]], axis=-1)
    return groove, first_tempo(midi)


def windows(steps: int) -> list[int]:
    """Start steps of consecutive two-bar windows covering `steps` steps."""
    return list(range(0, max(steps, 1), WINDOW_STEPS))


def join(loops: list[DrumLoop]) -> DrumLoop:
    """Concatenate loops in time."""
    return DrumLoop(*(np.concatenate([getattr(loop, f) for loop in loops]) for f in ("hits", "velocities", "offsets")))


def per_window(steps: int, process: Callable[[int], DrumLoop]) -> DrumLoop:
    """Apply `process(start)` to each two-bar window and join the results."""
    return join([process(start) for start in windows(steps)])
