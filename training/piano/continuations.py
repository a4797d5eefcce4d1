"""60-second continuations of held-out seeds, and the musicality features of each beside the real music's.

Each seed is the first `seed_bars` bars (4 beats each, in the file's ticks) of a test-split file of a
source; the real continuation is the same file's next `seconds` seconds. A checkpoint is primed with
the seed (the v2 style token of the source when it has one) and samples until `seconds` have passed at
the tempo sounding where the seed ends, as `encore generate` does.

Features of one continuation (seconds from its start; a beat is 60 / that tempo):
- notes per second;
- empty beats: the fraction of beats in which no note sounds;
- longest silence (`training.challenge.report.longest_silence`, up to `seconds`);
- pitch range (highest minus lowest), mean pitch;
- mean velocity and its standard deviation;
- longest exact back-to-back repeat in seconds (`training.challenge.report.longest_repeat`).

A model's median is *inside* when it lies within the real continuations' 10th-90th percentiles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from symusic import Score

from encore.models.midi_io import read_seed
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream, score_token_ids
from encore.models.piano.tokenizer import has_roles
from encore.models.sampling_config import SamplingConfig
from encore.training.challenge.report import longest_repeat, longest_silence
from encore.training.challenge.timeline import TempoMap, TimedNote
from encore.training.piano.sources import STYLE_OF_SOURCE, PianoFile, list_corpus


@dataclass(frozen=True)
class HeldOutSeed:
    """A seed cut from a test-split file, and what the file really plays next."""

    source: str
    path: Path
    seed: Score
    bpm: float
    real: tuple[TimedNote, ...]


@dataclass(frozen=True)
class ContinuationFeatures:
    """The musicality features of one continuation (see the module's docstring)."""

    notes_per_s: float
    empty_beats: float
    longest_silence_s: float
    pitch_range: float
    mean_pitch: float
    mean_velocity: float
    velocity_std: float
    longest_repeat_s: float


FEATURE_NAMES = tuple(f.name for f in fields(ContinuationFeatures))


def tempo_map(score: Score) -> TempoMap:
    """The score's tempo map over quarter-note beats from tick 0 (120 bpm before its first tempo)."""
    tempo = TempoMap(120.0)
    for change in sorted(score.tempos, key=lambda t: t.time):
        tempo.set_tempo(change.time / score.ticks_per_quarter, float(change.qpm))
    return tempo


def tempo_at(score: Score, tick: int) -> float:
    """The tempo (bpm) sounding at `tick` (120 before the first tempo event)."""
    before = [t for t in score.tempos if t.time <= tick]
    return float(before[-1].qpm) if before else 120.0


def cut_seed(file: PianoFile, seed_bars: int, seconds: float) -> HeldOutSeed | None:
    """The seed and real continuation of one file, or None when it is too short for both."""
    score = read_seed(file.path)
    end_tick = seed_bars * 4 * score.ticks_per_quarter
    tempo, tpq = tempo_map(score), score.ticks_per_quarter
    seed_end_s = tempo.seconds(end_tick / tpq)
    notes = score.tracks[0].notes
    timed = [TimedNote(tempo.seconds(n.time / tpq) - seed_end_s, tempo.seconds((n.time + n.duration) / tpq) - seed_end_s,
                       n.pitch, n.velocity) for n in notes]
    if not any(n.time < end_tick for n in notes) or max(n.onset_s for n in timed) < seconds:
        return None
    real = tuple(n for n in timed if 0.0 <= n.onset_s < seconds)
    return HeldOutSeed(file.source, file.path, score.clip(0, end_tick, clip_end=True), tempo_at(score, end_tick), real)


def held_out_seeds(data_root: Path, sources: Sequence[str], per_source: int, seed_bars: int = 8,
                   seconds: float = 60.0) -> list[HeldOutSeed]:
    """`per_source` seeds from each source's test split, in a fixed order (md5 of the file name)."""
    seeds = []
    for source in sources:
        files = sorted((f for f in list_corpus(data_root, (source,)) if f.split == "test"),
                       key=lambda f: hashlib.md5(f.path.name.encode()).hexdigest())
        taken = 0
        for file in files:
            if taken == per_source:
                break
            seed = cut_seed(file, seed_bars, seconds)
            if seed is not None and seed.real:
                seeds.append(seed)
                taken += 1
    return seeds


def features(notes: Sequence[TimedNote], seconds: float, bpm: float) -> ContinuationFeatures:
    """The features of notes timed from 0 over `seconds` (NaN pitch and velocity figures when empty)."""
    beat_s = 60.0 / bpm
    beats = max(1, int(np.ceil(seconds / beat_s - 1e-9)))
    sounding = np.zeros(beats, dtype=bool)
    for note in notes:
        first, last = int(note.onset_s // beat_s), int(np.ceil(min(note.end_s, seconds) / beat_s - 1e-9))
        sounding[max(first, 0):max(last, first + 1)] = True
    pitches = np.array([n.pitch for n in notes], dtype=np.float64)
    velocities = np.array([n.velocity for n in notes], dtype=np.float64)
    empty = not len(notes)
    return ContinuationFeatures(
        notes_per_s=len(notes) / seconds,
        empty_beats=float(1.0 - sounding[:beats].mean()),
        longest_silence_s=longest_silence(notes, 0.0, seconds)[0],
        pitch_range=float("nan") if empty else float(pitches.max() - pitches.min()),
        mean_pitch=float("nan") if empty else float(pitches.mean()),
        mean_velocity=float("nan") if empty else float(velocities.mean()),
        velocity_std=float("nan") if empty else float(velocities.std()),
        longest_repeat_s=longest_repeat(notes).span_s,
    )


def continue_seed(bundle: PianoBundle, seed: HeldOutSeed, seconds: float, sampling: SamplingConfig,
                  random_seed: int) -> list[TimedNote]:
    """Sample a continuation of `seed` for `seconds` at its tempo, timed in seconds from its start."""
    stream = PianoStream(bundle, sampling, seed=random_seed)
    if has_roles(bundle.tokenizer):
        stream.set_style(STYLE_OF_SOURCE[seed.source])
    stream.prime(score_token_ids(bundle, seed.seed))
    start = stream.position_beats
    beat_s = 60.0 / seed.bpm
    notes: list[NoteEvent] = stream.generate_until(start + seconds / beat_s)
    timed = [TimedNote((n.onset_beats - start) * beat_s, (n.onset_beats - start + n.duration_beats) * beat_s,
                       n.pitch, n.velocity) for n in notes]
    return [n for n in timed if 0.0 <= n.onset_s < seconds]


@dataclass(frozen=True)
class FeatureSummary:
    """One feature over the seeds: the real continuations' median and 10th-90th percentiles, and each
    model's median and whether it is inside that band."""

    real_median: float
    real_p10: float
    real_p90: float
    models: dict[str, float]
    inside: dict[str, bool]


def summarize(real: Sequence[ContinuationFeatures],
              models: dict[str, Sequence[ContinuationFeatures]]) -> dict[str, FeatureSummary]:
    """Per feature: where the real music lies and where each model's median falls."""
    summary = {}
    for name in FEATURE_NAMES:
        values = np.array([getattr(f, name) for f in real])
        p10, median, p90 = np.nanpercentile(values, [10, 50, 90])
        medians = {model: float(np.nanmedian([getattr(f, name) for f in feats])) for model, feats in models.items()}
        summary[name] = FeatureSummary(float(median), float(p10), float(p90), medians,
                                       {m: bool(p10 <= v <= p90) for m, v in medians.items()})
    return summary


def evaluate_continuations(bundles: dict[str, PianoBundle], seeds: Sequence[HeldOutSeed], seconds: float,
                           sampling: SamplingConfig, random_seed: int = 0,
                           progress: Callable[[], None] | None = None) -> dict:
    """Features of the real continuations and of every model's, per seed, and their summary."""
    real = [features(seed.real, seconds, seed.bpm) for seed in seeds]
    models: dict[str, list[ContinuationFeatures]] = {}
    for name, bundle in bundles.items():
        models[name] = []
        for index, seed in enumerate(seeds):
            notes = continue_seed(bundle, seed, seconds, sampling, random_seed + index)
            models[name].append(features(notes, seconds, seed.bpm))
            if progress is not None:
                progress()
    return {
        "seconds": seconds,
        "seeds": [{"source": s.source, "file": s.path.name, "bpm": round(s.bpm, 1)} for s in seeds],
        "real": [asdict(f) for f in real],
        "models": {name: [asdict(f) for f in feats] for name, feats in models.items()},
        "summary": {name: asdict(s) for name, s in summarize(real, models).items()},
    }


def summary_table(report: dict) -> str:
    """A Markdown table of the summary: real median [p10-p90], each model's median (* = outside)."""
    names = list(report["models"])
    lines = ["| feature | real median [p10-p90] | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for feature, row in report["summary"].items():
        cells = [f"{row['models'][n]:.2f}{'' if row['inside'][n] else ' *'}" for n in names]
        lines.append(f"| {feature} | {row['real_median']:.2f} [{row['real_p10']:.2f}-{row['real_p90']:.2f}] | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_plot(report: dict, path: Path) -> None:
    """One panel per feature: the real continuations' and each model's values over the seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {"real": report["real"], **report["models"]}
    figure, axes = plt.subplots(2, 4, figsize=(14, 6))
    for axis, feature in zip(axes.flat, FEATURE_NAMES, strict=True):
        data = [[row[feature] for row in rows if row[feature] == row[feature]] for rows in groups.values()]
        axis.boxplot(data, showfliers=True)
        axis.set_xticks(range(1, len(groups) + 1), list(groups), fontsize=8)
        axis.set_title(feature.replace("_", " "), fontsize=10)
    figure.suptitle(f"{report['seconds']:g}-s continuations of {len(report['seeds'])} held-out seeds")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
