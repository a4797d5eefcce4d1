"""The leaderboard as a terminal table, a CSV file and a plot of each entry's mu with its +/- k sigma bar."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from encore.stage.arena.ratings import K, Standing

COLUMNS = ("rank", "name", "mu", "sigma", "score", "evaluations")


def rows(standings: Sequence[Standing]) -> list[tuple]:
    """(rank, name, mu, sigma, mu - k sigma, evaluations), rounded for people."""
    return [(rank, s.name, round(s.mu, 3), round(s.sigma, 3), round(s.score, 3), s.evaluations)
            for rank, s in enumerate(standings, start=1)]


def format_table(standings: Sequence[Standing]) -> str:
    """An aligned text table."""
    header = ("#", "name", "mu", "sigma", f"mu-{K:.2f}sigma", "evaluations")
    body = [(str(r[0]), r[1], f"{r[2]:.2f}", f"{r[3]:.2f}", f"{r[4]:.2f}", str(r[5])) for r in rows(standings)]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i == 1 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(line, widths, strict=True))) for line in [header, *body]]
    return "\n".join(lines)


def write_csv(path: Path, standings: Sequence[Standing]) -> Path:
    """The table as CSV (columns `COLUMNS`)."""
    with Path(path).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(rows(standings))
    return Path(path)


def plot_png(path: Path, standings: Sequence[Standing], title: str) -> Path:
    """Each entry's mu as a point with a +/- k sigma bar, best at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.45 * max(1, len(standings))))
    positions = list(range(len(standings)))[::-1]
    axis.errorbar([s.mu for s in standings], positions, xerr=[K * s.sigma for s in standings], fmt="o", capsize=4)
    axis.set_yticks(positions, [f"{s.name} ({s.evaluations})" for s in standings])
    axis.axvline(25.0, color="grey", linewidth=0.8, linestyle=":")
    axis.set(xlabel=f"mu +/- {K:.2f} sigma (TrueSkill)", title=title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
