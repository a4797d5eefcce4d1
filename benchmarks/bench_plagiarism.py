"""The copy check: an hour-long entry against the whole shared piano corpus (POP909 with its versions and
piano-midi.de, every MIDI file under both folders), at the calibrated thresholds, on this CPU.

The entry is an hour of ASAP performances (real piano music that is in neither folder), cut like an
entry. Rows: reading the corpus into its cache once, loading it back, then the search at stride 5 s
(720 chunks) in pitch and transposition mode and at stride 1 s, each the wall time of the whole check
after the entry is read, against the issue's 2-minute budget (ratio = time / 120 s). Skipped without
the shared data. Run alone with `python -m benchmarks.bench_plagiarism`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from encore.training.challenge.check import default_threshold
from encore.training.challenge.chunks import ChunkConfig, StepSequence, read_steps
from encore.training.challenge.corpus import load_corpus, midi_files_under
from encore.training.challenge.plagiarism import SearchStats, entry_queries, search
from encore.training.paths import default_data_root

BUDGET_S = 120.0
FOLDERS = ("pop909", "piano_midi_de")


def hour_of_music(root: Path, config: ChunkConfig, seconds: float) -> StepSequence:
    """ASAP performances back to back until `seconds` of steps."""
    wanted = int(seconds / config.step_s)
    values, onsets, total = [], [], 0
    for path in midi_files_under([root / "asap"]):
        sequence = read_steps(path, config)
        values.append(sequence.values)
        onsets.append(sequence.onsets)
        total += len(sequence)
        if total >= wanted:
            break
    return StepSequence(np.concatenate(values)[:wanted], np.concatenate(onsets)[:wanted])


def run(quick: bool = False) -> list[dict]:
    """Benchmark rows (name, median, unit, ratio, note); one skipped row without the data."""
    root = default_data_root()
    if not all((root / name).is_dir() for name in (*FOLDERS, "asap")):
        return [{"name": "plagiarism check", "median": None, "unit": "s", "note": f"skipped: no data at {root}"}]
    config = ChunkConfig()
    files = midi_files_under([root / name for name in FOLDERS])
    rows = []
    with tempfile.TemporaryDirectory() as cold:
        started = time.perf_counter()
        load_corpus(files, config, cache_root=Path(cold), progress=False)
        rows.append({"name": f"read {len(files)} corpus files into the cache", "median": round(time.perf_counter() - started, 1),
                     "unit": "s", "note": "once per corpus; 2 worker processes"})
    started = time.perf_counter()
    corpus = load_corpus(files, config, progress=False)
    rows.append({"name": "load the cached corpus", "median": round(time.perf_counter() - started, 2), "unit": "s",
                 "note": f"{len(corpus.files)} files, {corpus.hours:.0f} h, {len(corpus.starts):,} informative windows"})
    seconds = 600.0 if quick else 3600.0
    entry = hour_of_music(root, config, seconds)
    cases = [("stride 5 s", 40, False), ("stride 5 s, --transpose", 40, True)]
    if not quick:
        cases.append(("stride 1 s", 8, False))
    for label, stride, transpose in cases:
        queries = entry_queries(entry, config, stride)
        threshold = default_threshold(transpose)
        stats = SearchStats()
        started = time.perf_counter()
        matches = search(queries.windows, corpus, threshold, transpose=transpose, stats=stats)
        elapsed = time.perf_counter() - started
        rows.append({
            "name": f"{seconds / 3600:g} h entry vs corpus, {label}",
            "median": round(elapsed, 1), "unit": "s", "ratio": round(elapsed / BUDGET_S, 3),
            "note": (f"{len(queries.starts)} chunks compared ({queries.skipped} left out), NDTW >= {threshold:g}; "
                     f"{stats.screened:,} index candidates of {stats.pairs:,} pairs, {stats.dtw:,} DTWs; "
                     f"{len(set(matches.query.tolist()))} chunks flagged; ratio to the 120 s budget; one run"),
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['median']} {row['unit']} (ratio {row.get('ratio')}) - {row['note']}")
