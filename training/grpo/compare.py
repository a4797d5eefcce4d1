"""Show what GRPO changed: compare sample files (SMART's Figures 4 and 6).

`write_report` measures each sample file (`samples.load_samples`: `features.completion_notes` per
completion) and writes `features.png` (nine overlaid histograms: the paper's eight and notes per second),
`diversity.png` (average opening piano rolls), `features.md` (mean and median per model, the change
against the first model and whether it goes the paper's way; with a reference set, each model's distance
to it) and `compare.json` (every number behind them).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.models.errors import EncoreError
from encore.training.grpo import features as ft
from encore.training.grpo.samples import SampleSet

SIGNIFICANT_Z = 2.0
"""|Welch z| from which a change counts as more than sampling noise in the table."""


@dataclass(frozen=True)
class Feature:
    """One panel of Figure 4 and one row of the table.

    Attributes:
        label: what the panel and the row are called.
        histogram_of: the values histogrammed: a `PieceFeatures` field, or `pitch`/`velocity` (all notes).
        table_of: the per-piece `PieceFeatures` field the table summarises (and tests for a change).
        paper_direction: the change SMART's tuned model showed: +1 up, -1 down, 0 none stated.
        bins: (low, high, count) of the histogram; high None: the largest value over all models.
    """

    label: str
    histogram_of: str
    table_of: str
    paper_direction: int
    bins: tuple[float, float | None, int]


FEATURES = (
    Feature("number of notes", "notes", "notes", +1, (-0.5, None, 40)),
    Feature("polyphony rate", "polyphony_rate", "polyphony_rate", +1, (0.0, 1.0, 20)),
    Feature("empty-beat rate", "empty_beat_rate", "empty_beat_rate", -1, (0.0, 1.0, 20)),
    Feature("pitch (all notes; table: piece mean)", "pitch", "mean_pitch", 0, (20.5, 109.5, 89)),
    Feature("pitch range", "pitch_range", "pitch_range", +1, (-1.0, 89.0, 45)),
    Feature("scale consistency", "scale_consistency", "scale_consistency", 0, (0.0, 1.0, 20)),
    Feature("velocity (all notes; table: piece mean)", "velocity", "mean_velocity", -1, (0.0, 128.0, 20)),
    Feature("velocity range", "velocity_range", "velocity_range", +1, (-3.2, 124.8, 20)),
    Feature("notes per second", "notes_per_second", "notes_per_second", 0, (0.0, 24.0, 48)),
)
"""SMART's Figure 4, in its order (velocity bins hold one vocabulary velocity each, 6.4 wide), then the
pace, which the paper does not show but which continuing a seed depends on."""

DIRECTION_WORDS = {+1: "more", -1: "less", 0: "—"}


def _number(value: float) -> float | None:
    """A JSON-safe number: None for NaN and infinities."""
    return float(value) if math.isfinite(value) else None


def _change(base_set: SampleSet, other_set: SampleSet, feature: Feature) -> dict:
    """The change of the feature's per-piece mean from one model to another, its Welch z, and whether it
    goes the paper's way (None where the paper states no direction or nothing moved)."""
    base, other = base_set.values(feature.table_of), other_set.values(feature.table_of)
    direction = feature.paper_direction
    delta = float(other.mean() - base.mean()) if len(base) and len(other) else math.nan
    spread = (math.sqrt(other.var(ddof=1) / len(other) + base.var(ddof=1) / len(base))
              if len(base) > 1 and len(other) > 1 else math.nan)
    z = delta / spread if spread > 0 else math.nan
    moved = direction != 0 and math.isfinite(delta) and delta != 0
    return {"delta": _number(delta), "z": _number(z), "paper_direction": direction,
            "paper_way": bool(delta * direction > 0) if moved else None}


def _edges(feature: Feature, sets: list[SampleSet]) -> np.ndarray:
    low, high, count = feature.bins
    if high is None:
        top = max((float(s.values(feature.histogram_of).max(initial=0.0)) for s in sets), default=0.0)
        high, count = top + 0.5, int(min(count, top + 1))
    return np.linspace(low, high, count + 1)


def _feature_summary(samples: SampleSet, feature: Feature, edges: np.ndarray) -> dict:
    """Mean and median of the table's values, and the histogram of the panel's."""
    table, shown = samples.values(feature.table_of), samples.values(feature.histogram_of)
    counts, _ = np.histogram(shown, bins=edges)
    return {"mean": _number(table.mean()) if len(table) else None,
            "median": _number(float(np.median(table))) if len(table) else None,
            "histogram": {"of": feature.histogram_of, "edges": edges.round(4).tolist(),
                          "fractions": (counts / max(1, len(shown))).round(5).tolist()}}


DEFINITIONS = {
    "beats": "60 / the prompt's tempo seconds (its last Tempo token), counted from the completion's start",
    "diversity": "mean pairwise Jaccard distance of binarised piano rolls of the first 16 beats "
                 "(16ths x pitches 21-109)",
    "chance_diversity": "the diversity of rolls of the same densities with their cells placed at random",
    "z": "Welch z of the change of the per-piece means",
    "distance": "total variation distance between a model's histogram of a feature and the reference's, on "
                "shared bins (0 the same distribution, 1 nothing in common); mean: over the features",
    "opening_roll": {"pitch_low": ft.ROLL_PITCHES.start, "beats": ft.ROLL_BEATS,
                     "steps_per_beat": ft.ROLL_STEPS_PER_BEAT},
}


def total_variation(fractions: list[float], reference: list[float]) -> float:
    """Total variation distance of two histograms on the same bins: 0 the same, 1 nothing in common."""
    return 0.5 * float(np.abs(np.asarray(fractions) - np.asarray(reference)).sum())


def distances_to(models: dict, reference: str) -> dict:
    """Per other model, each feature's total variation distance to `reference`'s histogram, and their mean."""
    ref = models[reference]["features"]
    distances = {}
    for label, model in models.items():
        if label == reference:
            continue
        per_feature = {feature.table_of: total_variation(model["features"][feature.table_of]["histogram"]["fractions"],
                                                         ref[feature.table_of]["histogram"]["fractions"])
                       for feature in FEATURES}
        distances[label] = {**per_feature, "mean": float(np.mean(list(per_feature.values())))}
    return distances


def summarise(sets: list[SampleSet], reference: str | None = None) -> dict:
    """Every number of the report: per model, each model's change against the first (the base), and with a
    `reference` label (real piano, say), each model's distance to it.

    Raises:
        EncoreError: a reference label that names no set.
    """
    edges = {feature.table_of: _edges(feature, sets) for feature in FEATURES}
    models = {samples.label: {
        "settings": samples.settings,
        "samples": len(samples.pieces),
        "without_notes": sum(piece.notes == 0 for piece in samples.pieces),
        "diversity": _number(ft.diversity(samples.rolls)),
        "chance_diversity": _number(ft.chance_diversity(samples.rolls)),
        "features": {feature.table_of: _feature_summary(samples, feature, edges[feature.table_of])
                     for feature in FEATURES},
        "average_opening_roll": samples.rolls.mean(axis=0).round(4).tolist(),
    } for samples in sets}
    base = sets[0]
    changes = {other.label: {feature.table_of: _change(base, other, feature) for feature in FEATURES}
               for other in sets[1:]}
    summary = {"base": base.label, "models": models, "changes": changes, "definitions": DEFINITIONS}
    if reference is not None:
        if reference not in models:
            raise EncoreError(f"--reference {reference}: no sample set has that label ({', '.join(models)})")
        summary["reference"] = reference
        summary["distances"] = distances_to(models, reference)
    return summary


def _verdict(change: dict) -> str:
    if change["paper_direction"] == 0:
        return "—"
    if change["paper_way"] is None:
        return "no change"
    significant = change["z"] is None or abs(change["z"]) >= SIGNIFICANT_Z
    return ("yes" if change["paper_way"] else "no") + ("" if significant else " (n.s.)")


def _format(value: float | None, sign: bool = False) -> str:
    return "n/a" if value is None else f"{value:+.3g}" if sign else f"{value:.3g}"


def features_table(summary: dict) -> str:
    """The markdown table: mean (median) per model, and each change against the base with its verdict."""
    models, changes, base = summary["models"], summary["changes"], summary["base"]
    header = ["feature", "paper", *models]
    for label in changes:
        header += [f"{label} − {base} (z)", "paper's way?"]
    rule = "|" + "---|" * 2 + "---:|" * len(models) + "---:|---|" * len(changes)
    lines = ["| " + " | ".join(header) + " |", rule]
    for feature in FEATURES:
        key = feature.table_of
        cells = [feature.label, DIRECTION_WORDS[feature.paper_direction]]
        cells += [f"{_format(m['features'][key]['mean'])} ({_format(m['features'][key]['median'])})"
                  for m in models.values()]
        for change in changes.values():
            z = change[key]["z"]
            cells += [f"{_format(change[key]['delta'], sign=True)} ({'n/a' if z is None else f'{z:+.1f}'})",
                      _verdict(change[key])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| model | samples | without notes | diversity | chance level |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {label} | {m['samples']} | {m['without_notes']} | {_format(m['diversity'])} | "
              f"{_format(m['chance_diversity'])} |" for label, m in models.items()]
    if "distances" in summary:
        lines += ["", f"| feature | distance to {summary['reference']}: " + " / ".join(summary["distances"]) + " |",
                  "|---|---|"]
        lines += [f"| {label} | " + " / ".join(f"{d[key]:.2f}" for d in summary["distances"].values()) + " |"
                  for label, key in [*((f.label, f.table_of) for f in FEATURES), ("**mean**", "mean")]]
    notes = ("Mean (median) over pieces; pitch and velocity rows are per-piece means. z: Welch z of the "
             f"change; '(n.s.)' below |z| {SIGNIFICANT_Z:g}. "
             f"Diversity: {summary['definitions']['diversity']}; chance level: "
             f"{summary['definitions']['chance_diversity']}.")
    return "\n".join(lines) + "\n\n" + notes + "\n"


def plot_features(summary: dict, path: Path) -> Path:
    """features.png: the nine overlaid histograms (3 x 3 panels, one colour per model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 3, figsize=(15, 11))
    for axis, feature in zip(axes.flat, FEATURES, strict=True):
        for index, (label, model) in enumerate(summary["models"].items()):
            histogram = model["features"][feature.table_of]["histogram"]
            fractions, edges, colour = histogram["fractions"], histogram["edges"], f"C{index}"
            axis.stairs(fractions, edges, label=label, fill=True, alpha=0.3, color=colour)
            axis.stairs(fractions, edges, linewidth=1.2, color=colour)
        direction = feature.paper_direction
        paper = "" if direction == 0 else f" (paper: {DIRECTION_WORDS[direction]})"
        axis.set_title(feature.label.split(" (")[0] + paper)
        pooled = feature.histogram_of in ("pitch", "velocity")
        axis.set_ylabel("fraction of notes" if pooled else "fraction of pieces")
    axes.flat[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_rolls(summary: dict, path: Path) -> Path:
    """diversity.png: each model's average opening piano roll (pitch x time), its diversity in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = summary["models"]
    low = ft.ROLL_PITCHES.start
    top = max(float(np.max(model["average_opening_roll"])) for model in models.values()) or 1.0
    figure, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.5), squeeze=False)
    for axis, (label, model) in zip(axes[0], models.items(), strict=True):
        roll = np.array(model["average_opening_roll"])
        image = axis.imshow(roll, origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=top,
                            extent=(0, ft.ROLL_BEATS, low - 0.5, low + len(roll) - 0.5))
        axis.set_title(f"{label}: diversity {_format(model['diversity'])} "
                       f"(chance {_format(model['chance_diversity'])})")
        axis.set_xlabel("beat")
        axis.set_ylabel("pitch")
        figure.colorbar(image, ax=axis, label="fraction of samples sounding")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_report(sets: list[SampleSet], out_dir: Path, reference: str | None = None) -> dict[str, Path]:
    """Write features.png, diversity.png, features.md and compare.json into `out_dir`; return their paths.

    Raises:
        EncoreError: no sample sets, sets whose completions differ in length (their features would not
            compare), or a reference label that names no set.
    """
    if not sets:
        raise EncoreError("no sample files to compare")
    lengths = {s.label: s.settings.get("new_tokens") for s in sets}
    if len(set(lengths.values())) > 1:
        raise EncoreError(f"sample files differ in completion length ({lengths}): "
                          "generate them with one --new-tokens")
    summary = summarise(sets, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"features": plot_features(summary, out_dir / "features.png"),
             "diversity": plot_rolls(summary, out_dir / "diversity.png"),
             "table": out_dir / "features.md", "json": out_dir / "compare.json"}
    paths["table"].write_text(features_table(summary))
    paths["json"].write_text(json.dumps(summary, indent=1) + "\n")
    return paths
