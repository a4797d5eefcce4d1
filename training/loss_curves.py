"""Loss curves as PNG (matplotlib, headless): the one plotter every trainer uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Series = Mapping[str, Sequence[tuple[int, float]]]
"""Named series of (step, loss) points, e.g. {"train": [...], "validation": [...]}."""


def save_loss_curves(panels: Mapping[str, Series], path: Path, title: str, log_scale: Iterable[str] = ()) -> Path:
    """Plot each panel's series against the step, side by side, and save the figure to `path`.

    Args:
        panels: y-axis label -> series of that panel; a series named `train` is a thin line, the others
            (validation) lines with markers.
        path: PNG file to write.
        title: title of the first panel.
        log_scale: the panels (by label) drawn with a logarithmic y axis.
    """
    logarithmic = set(log_scale)
    figure, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels) ** 0.75, 4), squeeze=False)
    for axis, (label, series) in zip(axes[0], panels.items(), strict=True):
        for name, points in series.items():
            if points:
                steps, losses = zip(*points, strict=True)
                train = name == "train"
                axis.plot(steps, losses, label=name, linewidth=1 if train else 1.5,
                          marker=None if train else "o", markersize=3)
        axis.set_xlabel("step")
        axis.set_ylabel(label)
        if label in logarithmic:
            axis.set_yscale("log")
        axis.legend()
        axis.grid(alpha=0.3)
    axes[0][0].set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
