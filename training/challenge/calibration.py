"""Calibrating the copy check's threshold on music that, by construction, copies nothing.

Held-out pieces (the test split of `training/piano/sources.py`, POP909 main files only, since their
`versions/` are near-duplicates of them) are cut into 5-second chunks at a 5-second stride, like an
entry, and each chunk's best NDTW against every window of the training-split pieces is measured
(exactly when it is at least a floor, 0.998 in pitch mode and 0.999 in transposition mode; below that only "< floor" is known and needed). The default
threshold is the lowest score that at most `flags_per_hour` held-out chunks per hour of music reach
(an hour is 720 chunks). Copies of training chunks (exact, transposed, with timing jitter) show what
the threshold still catches. Random chunk pairs show why the challenge's printed 0.3 cannot be used.

    encore plagiarism-calibrate [--data-root DIR] [--floor 0.998] [--copies 200]

writes `docs/plagiarism-calibration.json` and `docs/plagiarism-calibration.png`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from encore.training.challenge.chunks import ChunkConfig, StepSequence, notes_to_steps, read_notes
from encore.training.challenge.corpus import Corpus, load_corpus
from encore.training.challenge.ndtw import dtw_banded, ndtw_from_distance
from encore.training.challenge.plagiarism import entry_queries, search
from encore.training.paths import CHECKOUT_ROOT, default_data_root
from encore.training.piano.sources import DEFAULT_SOURCES, list_corpus

DOCS = (CHECKOUT_ROOT or Path()) / "docs"
CHUNKS_PER_HOUR = 720


@dataclass
class CalibrationConfig:
    """What the calibration measures and where it writes."""

    data_root: Path = field(default_factory=default_data_root)
    sources: tuple[str, ...] = DEFAULT_SOURCES
    held_out_split: str = "test"
    floor: float = 0.998
    transpose_floor: float = 0.999
    flags_per_hour: float = 1.0
    copies: int = 200
    jitter_s: float = 0.03
    random_pairs: int = 20000
    max_queries: int | None = None
    seed: int = 0
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    out_json: Path = DOCS / "plagiarism-calibration.json"
    out_plot: Path = DOCS / "plagiarism-calibration.png"


def held_out_queries(corpus: Corpus, config: ChunkConfig) -> tuple[np.ndarray, int]:
    """Informative 5 s chunks at a 5 s stride of every file of `corpus`, and how many chunks were cut."""
    windows, total = [], 0
    for index in range(len(corpus.files)):
        begin, end = int(corpus.offsets[index]), int(corpus.offsets[index + 1])
        queries = entry_queries(StepSequence(corpus.values[begin:end], corpus.onsets[begin:end]), config, config.steps)
        windows.append(queries.windows)
        total += queries.total
    return (np.concatenate(windows) if windows else np.zeros((0, config.steps), np.uint8)), total


def jittered_copies(corpus: Corpus, starts: np.ndarray, jitter_s: float, rng: np.random.Generator) -> np.ndarray:
    """Chunks re-quantized from the source notes with every onset and release moved by N(0, jitter_s)."""
    config = corpus.config
    file_index, times = corpus.locate(starts)
    rows = []
    for index, start_s in zip(file_index, times, strict=True):
        begin, end, pitch = read_notes(Path(corpus.files[index]), grader_time=False)
        inside = (end > start_s) & (begin < start_s + config.chunk_s + 1.0)
        shift = rng.normal(0.0, jitter_s, size=(2, int(inside.sum())))
        b = np.maximum(begin[inside] - start_s + shift[0], -1.0)
        e = np.maximum(end[inside] - start_s + shift[1], b + 0.01)
        keep = e > 0
        steps = notes_to_steps(np.maximum(b[keep], 0.0), e[keep], pitch[inside][keep], config.step_s).values
        if len(steps) >= config.steps:
            rows.append(steps[: config.steps])
    return np.array(rows, np.uint8).reshape(-1, config.steps)


def best_scores(queries: np.ndarray, corpus: Corpus, floor: float, transpose: bool, progress: bool) -> np.ndarray:
    """Best NDTW of each query against the corpus; NaN where it is below `floor`."""
    matches = search(queries, corpus, floor, transpose=transpose, progress=progress)
    return matches.best_per_query(len(queries))


def choose_threshold(best: np.ndarray, steps: int, chunks: int, flags_per_hour: float, floor: float) -> dict:
    """The lowest threshold at which at most `flags_per_hour` per hour of held-out chunks are flagged."""
    allowed = int(math.floor(chunks * flags_per_hour / CHUNKS_PER_HOUR))
    scores = np.sort(best[~np.isnan(best)])[::-1]
    distances = np.rint((1.0 - scores) * 127 * steps).astype(np.int64)
    if len(distances) <= allowed:
        distance, exact = int(math.floor((1.0 - floor) * 127 * steps)), False
    else:
        distance, exact = int(distances[allowed]) - 1, True  # one unit closer than the first chunk too many
    distance = max(distance, 0)
    # Rounded down, so that `max_distance(threshold)` is `distance` again and not one less.
    threshold = math.floor(float(ndtw_from_distance(distance, steps)) * 1e6) / 1e6
    return {"threshold": threshold, "max_distance": distance, "allowed_flags": allowed,
            "held_out_flags": int((distances <= distance).sum()), "exact": exact}


def _distances(best: np.ndarray, steps: int) -> np.ndarray:
    """DTW distances of best NDTW scores (NaN, below the floor, as a distance larger than any)."""
    return np.where(np.isnan(best), 1 << 30, np.rint((1.0 - np.nan_to_num(best, nan=0.0)) * 127 * steps)).astype(np.int64)


def _summary(values: np.ndarray, floor: float) -> dict:
    known = values[~np.isnan(values)]
    return {"count": int(len(values)), "below_floor": int(np.isnan(values).sum()),
            "max": None if not len(known) else round(float(known.max()), 6),
            "quantiles_above_floor": {f"p{q}": round(float(np.quantile(known, q / 100)), 6) for q in (50, 90, 99)}
            if len(known) else {}}


def run_calibration(config: CalibrationConfig, progress: bool = True) -> dict:
    """Measure, choose both thresholds, write the JSON and the plot; return the JSON's content."""
    started = time.perf_counter()
    chunk = config.chunk
    rng = np.random.default_rng(config.seed)
    files = list_corpus(Path(config.data_root), config.sources)
    train_files = [f.path for f in files if f.split == "train"]
    held_files = [f.path for f in files if f.split == config.held_out_split and f.path.parent.name != "versions"]
    train = load_corpus(train_files, chunk, progress=progress)
    held = load_corpus(held_files, chunk, progress=progress)
    queries, cut = held_out_queries(held, chunk)
    if config.max_queries and len(queries) > config.max_queries:
        queries = queries[np.sort(rng.choice(len(queries), config.max_queries, replace=False))]
    steps = chunk.steps

    # Random pairs: what unrelated chunks score, and what 0.3 would do.
    qi = rng.integers(0, len(queries), config.random_pairs)
    ci = rng.choice(train.starts, config.random_pairs)
    random_scores = ndtw_from_distance(dtw_banded(queries[qi], train.windows(ci), chunk.band_steps), steps)

    picked = np.sort(rng.choice(train.starts, config.copies, replace=False))
    exact = train.windows(picked)
    semitones = rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5], len(picked))
    transposed = np.clip(exact.astype(np.int16) + semitones[:, None], 0, 127).astype(np.uint8)
    jittered = jittered_copies(train, picked, config.jitter_s, rng)
    jittered_transposed = np.clip(jittered.astype(np.int16) + semitones[: len(jittered), None], 0, 127).astype(np.uint8)

    result: dict = {"settings": {**asdict(config), "data_root": str(config.data_root), "chunk": chunk.to_dict(),
                                 "out_json": str(config.out_json), "out_plot": str(config.out_plot)},
                    "corpus": {"train_files": len(train.files), "train_hours": round(train.hours, 2),
                               "train_windows": int(len(train.starts)), "held_out_files": len(held.files),
                               "held_out_hours": round(held.hours, 2), "held_out_chunks_cut": int(cut),
                               "held_out_chunks_compared": int(len(queries))},
                    "random_pairs": {"count": int(len(random_scores)),
                                     **{f"p{q}": round(float(np.quantile(random_scores, q / 100)), 4)
                                        for q in (1, 5, 50, 95, 99)},
                                     "max": round(float(random_scores.max()), 4),
                                     "fraction_at_least_0.3": float(np.mean(random_scores >= 0.3))},
                    "modes": {}}
    distributions: dict[str, dict[str, np.ndarray]] = {"random": {"random pairs": random_scores}}
    for mode, transpose, copy_sets in (
        ("pitch", False, {"exact copies": exact, "transposed copies": transposed, "jittered copies": jittered}),
        ("transpose", True, {"exact copies": exact, "transposed copies": transposed,
                             "jittered + transposed copies": jittered_transposed}),
    ):
        mode_started = time.perf_counter()
        floor = config.transpose_floor if transpose else config.floor
        held_best = best_scores(queries, train, floor, transpose, progress)
        search_s = time.perf_counter() - mode_started
        choice = choose_threshold(held_best, steps, len(queries), config.flags_per_hour, floor)
        entry = {"held_out": _summary(held_best, floor), "floor": floor, **choice,
                 "search_seconds": round(search_s, 1),
                 "chunks_per_hour_rate": round(choice["held_out_flags"] / max(1, len(queries)) * CHUNKS_PER_HOUR, 3),
                 "copies": {}}
        distributions[mode] = {"held-out chunks": held_best}
        for name, rows in copy_sets.items():
            best = best_scores(rows, train, floor, transpose, False)
            caught = _distances(best, steps) <= choice["max_distance"]
            entry["copies"][name] = {**_summary(best, floor), "caught": int(caught.sum()),
                                     "caught_fraction": round(float(caught.mean()), 4) if len(rows) else None}
            distributions[mode][name] = best
        result["modes"][mode] = entry
    result["seconds"] = round(time.perf_counter() - started, 1)
    Path(config.out_json).parent.mkdir(parents=True, exist_ok=True)
    Path(config.out_json).write_text(json.dumps(result, indent=2) + "\n")
    plot_calibration(distributions, result, Path(config.out_plot))
    return result


def plot_calibration(distributions: dict[str, dict[str, np.ndarray]], result: dict, path: Path) -> None:
    """Three panels: random pairs against 0.3, then best-match NDTW per chunk in each mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    random_scores = distributions["random"]["random pairs"]
    axes[0].hist(random_scores, bins=np.linspace(0, 1, 101), color="grey")
    axes[0].axvline(0.3, color="red", linestyle="--", label="printed threshold 0.3")
    axes[0].set(title="NDTW of random chunk pairs", xlabel="NDTW", ylabel="pairs", yscale="log")
    axes[0].legend(loc="upper left")
    for axis, mode in zip(axes[1:], ("pitch", "transpose"), strict=True):
        floor = result["modes"][mode]["floor"]
        below = floor - 0.0005
        bins = np.linspace(below - 0.00025, 1.0001, 50)
        for name, values in distributions[mode].items():
            shown = np.where(np.isnan(values), below, values)
            weights = np.full(len(shown), 1.0 / max(1, len(shown)))
            axis.hist(shown, bins=bins, weights=weights, histtype="step", linewidth=1.6, label=f"{name} ({len(values)})")
        threshold = result["modes"][mode]["threshold"]
        axis.axvline(threshold, color="red", linestyle="--", label=f"threshold {threshold:.4f}")
        axis.axvline(floor, color="black", linestyle=":", linewidth=0.8)
        axis.text(below, axis.get_ylim()[1] * 0.5, f"< {floor}", rotation=90, ha="center", va="center", fontsize=8)
        title = "pitch mode" if mode == "pitch" else "--transpose (contours)"
        axis.set(title=f"best-match NDTW per chunk, {title}", xlabel="best NDTW against the training corpus",
                 ylabel="fraction of chunks", yscale="log")
        axis.legend(loc="upper center", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
