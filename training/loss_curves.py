"""Loss curves as PNG (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_loss_curves(history: dict[str, list[tuple[int, float]]], path: Path, title: str) -> Path:
    """Plot each named series of (step, loss) pairs on one axis and save it to `path`."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, points in history.items():
        if points:
            steps, losses = zip(*points, strict=True)
            axis.plot(steps, losses, label=name, linewidth=1 if name == "train" else 2,
                      marker=None if name == "train" else "o")
    axis.set_xlabel("step")
    axis.set_ylabel("loss per token (nats)")
    axis.set_title(title)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
