"""Does every 30-second chunk stand on its own? Statistics of an entry, overall and per chunk.

- **Longest silence**: the longest time during which no note sounds, from second 0 to the end.
- **Empty bars**: the fraction of 4/4 bars at 120 bpm (2 s, the file's own grid) in which no
  note starts.
- **Longest exactly repeated span**: notes sorted by (onset, pitch) are compared as (pitch,
  duration, time since the previous onset), both in milliseconds; velocity is left out, since a
  loop played louder is still a loop. A run of notes each equal to the note `p` earlier (p up to
  `MAX_PERIOD`) is a repetition; its span is the time from the onset before the run to the last
  repeated onset, i.e. how long the music copies itself back to back.
- **Notes per second** of every 30-second chunk (the last chunk by its own length).
- **Key**: given the seed's notes, the seed's key and the fraction of sounding time on its scale,
  overall and per chunk, beside each chunk's own best-fitting key (`key.py`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import mido
import numpy as np

from encore.models.midi_io import read_seed
from encore.training.challenge.key import estimate_key, in_scale_fraction
from encore.training.challenge.rules import read_entry
from encore.training.challenge.timeline import TimedNote

CHUNK_S = 30.0
BAR_S = 2.0
MAX_PERIOD = 256


@dataclass(frozen=True)
class Repeat:
    """A back-to-back exact repetition: its span in seconds, where it starts, and its period in notes."""

    span_s: float = 0.0
    start_s: float = 0.0
    period_notes: int = 0


@dataclass(frozen=True)
class ChunkStats:
    """One chunk of the entry."""

    start_s: float
    notes: int
    notes_per_s: float
    longest_silence_s: float
    empty_bar_fraction: float
    longest_repeat_s: float
    key: str | None = None
    in_seed_scale: float | None = None


@dataclass(frozen=True)
class EntryReport:
    """An entry's statistics, overall and per chunk."""

    length_s: float
    notes: int
    longest_silence_s: float
    longest_silence_at_s: float
    empty_bar_fraction: float
    longest_repeat: Repeat
    chunks: tuple[ChunkStats, ...]
    seed_key: str | None = None
    in_seed_scale: float | None = None

    def to_dict(self) -> dict:
        """Plain values, for JSON."""
        return asdict(self)

    def summary(self) -> str:
        """A few lines for the terminal."""
        rates = [c.notes_per_s for c in self.chunks]
        lines = [
            f"length {self.length_s:.1f} s, {self.notes} notes, {len(self.chunks)} chunks of {CHUNK_S:g} s",
            f"longest silence {self.longest_silence_s:.2f} s (at {self.longest_silence_at_s:.1f} s)",
            f"empty bars {100 * self.empty_bar_fraction:.1f}% (2-s bars at 120 bpm)",
            f"longest exactly repeated span {self.longest_repeat.span_s:.2f} s "
            f"(at {self.longest_repeat.start_s:.1f} s, period {self.longest_repeat.period_notes} notes)",
        ]
        if self.in_seed_scale is not None:
            lowest = min((c.in_seed_scale for c in self.chunks if c.in_seed_scale is not None), default=float("nan"))
            lines.append(f"seed key {self.seed_key}: {100 * self.in_seed_scale:.1f}% of the sounding time on its scale "
                         f"(lowest chunk {100 * lowest:.1f}%)")
        if rates:
            lines.append(f"notes per second per chunk: min {min(rates):.2f}, median {float(np.median(rates)):.2f}, "
                         f"max {max(rates):.2f}")
        return "\n".join(lines)


def notes_from_midi(midi: mido.MidiFile) -> list[TimedNote]:
    """Notes of a MIDI file in seconds (through its tempo map), each note_on paired with the next
    note_off (or velocity-0 note_on) of its channel and pitch; a note never released ends at the end."""
    notes: list[TimedNote] = []
    open_notes: dict[tuple[int, int], list[tuple[float, int]]] = {}
    now = 0.0
    for message in midi:
        now += message.time
        if message.type not in ("note_on", "note_off"):
            continue
        key = (message.channel, message.note)
        if message.type == "note_on" and message.velocity > 0:
            open_notes.setdefault(key, []).append((now, message.velocity))
        elif open_notes.get(key):
            onset, velocity = open_notes[key].pop(0)
            notes.append(TimedNote(onset, now, message.note, velocity))
    for (_, pitch), pending in open_notes.items():
        notes.extend(TimedNote(onset, now, pitch, velocity) for onset, velocity in pending)
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))


def seed_timed_notes(path: Path) -> list[TimedNote]:
    """A seed's pitched notes in seconds (all pitched tracks, drums left out, as the model reads a seed)."""
    score = read_seed(path).to("second")
    return [TimedNote(n.time, n.time + n.duration, n.pitch, n.velocity) for n in score.tracks[0].notes]


def longest_silence(notes: Sequence[TimedNote], start_s: float = 0.0, end_s: float | None = None) -> tuple[float, float]:
    """(length, start) of the longest time in [start_s, end_s] when no note sounds.

    `end_s` defaults to the last release, so only silence before and between notes counts.
    """
    spans = sorted((max(n.onset_s, start_s), n.end_s) for n in notes if n.end_s > start_s
                   and (end_s is None or n.onset_s < end_s))
    end = end_s if end_s is not None else max((n.end_s for n in notes), default=start_s)
    best, at, covered = 0.0, start_s, start_s
    for onset, release in spans:
        if onset - covered > best:
            best, at = onset - covered, covered
        covered = max(covered, release)
    if end - covered > best:
        best, at = end - covered, covered
    return max(best, 0.0), at


def empty_bar_fraction(notes: Sequence[TimedNote], start_s: float, end_s: float, bar_s: float = BAR_S) -> float:
    """Fraction of the bars in [start_s, end_s) in which no note starts (a last partial bar counts)."""
    count = max(1, math.ceil((end_s - start_s) / bar_s - 1e-9))
    used = {int((n.onset_s - start_s) // bar_s) for n in notes if start_s <= n.onset_s < end_s}
    return 1.0 - len(used) / count


def note_features(notes: Sequence[TimedNote]) -> tuple[np.ndarray, np.ndarray]:
    """(onsets, feature ids) of notes sorted by (onset, pitch): equal ids mean equal (pitch, ms, gap ms)."""
    ordered = sorted(notes, key=lambda n: (n.onset_s, n.pitch))
    onsets = np.array([n.onset_s for n in ordered], dtype=np.float64)
    rows = np.array([[n.pitch, round(1000 * (n.end_s - n.onset_s)), -1 if i == 0 else round(1000 * (n.onset_s - onsets[i - 1]))]
                     for i, n in enumerate(ordered)], dtype=np.int64).reshape(-1, 3)
    ids = np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1) if len(rows) else np.zeros(0, np.int64)
    return onsets, ids


def longest_repeat(notes: Sequence[TimedNote], max_period: int = MAX_PERIOD) -> Repeat:
    """The longest back-to-back exact repetition (see the module's docstring)."""
    onsets, ids = note_features(notes)
    best = Repeat()
    for period in range(1, min(max_period, len(ids) - 1) + 1):
        equal = np.concatenate([[0], (ids[period:] == ids[:-period]).astype(np.int8), [0]])
        edges = np.diff(equal)
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        if not len(starts):
            continue
        # notes starts+period .. stops+period repeat the notes `period` earlier
        spans = onsets[stops + period] - onsets[starts + period - 1]
        index = int(np.argmax(spans))
        if spans[index] > best.span_s:
            best = Repeat(float(spans[index]), float(onsets[starts[index] + period - 1]), period)
    return best


def entry_report(notes: Sequence[TimedNote], length_s: float | None = None, chunk_s: float = CHUNK_S,
                 seed_notes: Sequence[TimedNote] | None = None) -> EntryReport:
    """Statistics of an entry whose notes are in seconds; `length_s` defaults to the last release.

    With `seed_notes`, each chunk's key is compared with the seed's.
    """
    seed_key = estimate_key(seed_notes) if seed_notes else None
    length = length_s if length_s is not None else max((n.end_s for n in notes), default=0.0)
    silence, silence_at = longest_silence(notes, 0.0, length)
    ordered = sorted(notes, key=lambda n: (n.onset_s, n.pitch))
    onsets = np.array([n.onset_s for n in ordered])
    ends = np.array([n.end_s for n in ordered])
    chunks = []
    for index in range(max(1, math.ceil(length / chunk_s - 1e-9))):
        start, end = index * chunk_s, min(length, (index + 1) * chunk_s)
        low, high = np.searchsorted(onsets, [start, end], side="left")
        inside = ordered[low:high]
        sounding = [ordered[i] for i in np.flatnonzero(ends[:high] > start)]
        chunk_key = estimate_key(inside)
        chunks.append(ChunkStats(
            start_s=start,
            notes=len(inside),
            notes_per_s=len(inside) / max(end - start, 1e-9),
            longest_silence_s=longest_silence(sounding, start, end)[0],
            empty_bar_fraction=empty_bar_fraction(inside, start, end),
            longest_repeat_s=longest_repeat(inside).span_s,
            key=None if chunk_key is None else chunk_key.name,
            in_seed_scale=None if seed_key is None else in_scale_fraction(inside, seed_key),
        ))
    return EntryReport(length, len(notes), silence, silence_at, empty_bar_fraction(notes, 0.0, max(length, 1e-9)),
                       longest_repeat(notes), tuple(chunks), None if seed_key is None else seed_key.name,
                       None if seed_key is None else in_scale_fraction(notes, seed_key))


def report_for_file(path: Path) -> EntryReport:
    """Statistics of a MIDI file, timed as mido plays it."""
    midi = read_entry(path)
    return entry_report(notes_from_midi(midi), float(midi.length))


def save_report(report: EntryReport, json_path: Path, png_path: Path | None = None) -> None:
    """Write the report as JSON and, if asked, a plot of notes per second per chunk and its histogram."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    if png_path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [c.start_s / 60 for c in report.chunks]
    rates = [c.notes_per_s for c in report.chunks]
    silences = [c.longest_silence_s for c in report.chunks]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [2.2, 1]})
    left.bar(starts, rates, width=CHUNK_S / 60 * 0.9, align="edge", color="#4477aa", label="notes/s")
    left.set_xlabel("chunk start (min)")
    left.set_ylabel("notes per second")
    twin = left.twinx()
    twin.plot([s + CHUNK_S / 120 for s in starts], silences, color="#cc6677", marker=".", lw=0.8, label="longest silence")
    twin.set_ylabel("longest silence in chunk (s)", color="#cc6677")
    left.set_title(f"per {CHUNK_S:g}-s chunk; longest repeat {report.longest_repeat.span_s:.1f} s, "
                   f"empty bars {100 * report.empty_bar_fraction:.1f}%", fontsize=9)
    right.hist(rates, bins=20, color="#4477aa")
    right.set_xlabel("notes per second")
    right.set_ylabel("chunks")
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
