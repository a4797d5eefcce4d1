"""Offline humanize and drumify of whole MIDI files (`encore groove humanize|drumify`).

Both read the input with `encore.models.groove.files` (clear one-line errors for bad files), process it two bars
at a time with a `GrooveModel`, and write channel-10 General MIDI drums at the input's tempo. With
`samples > 1` they write `OUT_1.mid` ... `OUT_N.mid`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encore.models.groove.files import LoadedLoop, per_window, read_drum_score, read_tap
from encore.models.groove.grid import WINDOW_STEPS, DrumLoop, loop_to_midi
from encore.models.groove.model import GrooveModel


def output_paths(out: str, samples: int) -> list[Path]:
    """`out` itself for one sample, else `out` with `_1` ... `_N` before the suffix."""
    path = Path(out)
    if samples == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix or '.mid'}") for i in range(1, samples + 1)]


def _silence() -> DrumLoop:
    empty = np.zeros((WINDOW_STEPS, 9), np.float32)
    return DrumLoop(empty, empty, empty)


def humanize_file(
    model: GrooveModel,
    score_path: str,
    out: str,
    groove_path: str | None = None,
    samples: int = 1,
    temperature: float = 1.0,
    seed: int | None = None,
) -> list[Path]:
    """Humanize a drum score file; with `groove_path`, play it with that file's groove (looped).

    Returns:
        The written files.
    """
    loaded: LoadedLoop = read_drum_score(score_path)
    groove = read_tap(groove_path)[0] if groove_path else None
    written = []
    for index, path in enumerate(output_paths(out, samples)):
        def process(start: int, index: int = index) -> DrumLoop:
            window = loaded.loop.window(start)
            if not window.hits.any():
                return _silence()
            part = None
            if groove is not None:
                bars = groove.shape[0] // WINDOW_STEPS
                offset = (start // WINDOW_STEPS) % bars * WINDOW_STEPS
                part = groove[offset : offset + WINDOW_STEPS]
            window_seed = None if seed is None else seed + 1000 * index + start
            return model.humanize(window.hits, part, temperature, 1, True, window_seed)[0]

        loop = per_window(loaded.loop.steps, process)
        path.parent.mkdir(parents=True, exist_ok=True)
        loop_to_midi(loop, loaded.bpm, loaded.ticks_per_beat).save(str(path))
        written.append(path)
    return written


def drumify_file(
    model: GrooveModel, tap_path: str, out: str, samples: int = 1, temperature: float = 1.0, seed: int | None = None
) -> list[Path]:
    """Turn a tapped rhythm file (any MIDI; its onsets and velocities) into drums.

    Returns:
        The written files.
    """
    groove, bpm = read_tap(tap_path)
    written = []
    for index, path in enumerate(output_paths(out, samples)):
        def process(start: int, index: int = index) -> DrumLoop:
            part = groove[start : start + WINDOW_STEPS]
            if not (part[:, 0] > 0.5).any():
                return _silence()
            window_seed = None if seed is None else seed + 1000 * index + start
            return model.drumify(part, temperature, 1, window_seed)[0]

        loop = per_window(groove.shape[0], process)
        path.parent.mkdir(parents=True, exist_ok=True)
        loop_to_midi(loop, bpm).save(str(path))
        written.append(path)
    return written
