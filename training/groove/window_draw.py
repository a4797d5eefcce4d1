"""Which training windows a batch draws (audit point 15 of docs/groove.md).

`hop` (ours): every two-bar window of the cache, one-bar hop, uniformly, so long performances weigh in
proportion to their length. `paper` (GrooVAE's, Magenta's `GrooveConverter` with `split_bars=2` and
`max_tensors_per_notesequence=20`): only non-overlapping windows, those starting on a two-bar boundary of
their file, and at most `per_file` of a file's windows per pass over the data. Here a pass is not a
separate loop: each window is drawn with probability in proportion to `min(1, per_file / n)` for its
file's `n` windows, so in expectation a file gives at most `per_file` windows per pass, as Magenta's draw.
"""

from __future__ import annotations

import numpy as np

from encore.models.groove.grid import WINDOW_STEPS
from encore.training.groove.data import WindowSet

WINDOW_DRAWS = ("hop", "paper")
PAPER_WINDOWS_PER_FILE = 20


def paper_probabilities(windows: WindowSet, per_file: int = PAPER_WINDOWS_PER_FILE) -> np.ndarray:
    """Per window, its probability in GrooVAE's draw (0 for windows that overlap a kept one)."""
    aligned = windows.start % WINDOW_STEPS == 0
    if not aligned.any():
        raise ValueError("no window starts on a two-bar boundary")
    _, inverse, counts = np.unique(windows.file_index[aligned], return_inverse=True, return_counts=True)
    weights = np.zeros(len(windows))
    weights[aligned] = np.minimum(1.0, per_file / counts[inverse])
    return weights / weights.sum()


class WindowDraw:
    """Draws batches of window indices in one of `WINDOW_DRAWS` ways.

    Args:
        windows: the training windows.
        mode: `hop` or `paper` (module docstring).
    """

    def __init__(self, windows: WindowSet, mode: str = "hop") -> None:
        if mode not in WINDOW_DRAWS:
            raise ValueError(f"window draw must be one of {', '.join(WINDOW_DRAWS)} (got {mode!r})")
        self.size = len(windows)
        self.probabilities = paper_probabilities(windows) if mode == "paper" else None

    def __call__(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` window indices (with replacement)."""
        if self.probabilities is None:
            return rng.integers(0, self.size, count)
        return rng.choice(self.size, count, p=self.probabilities)
