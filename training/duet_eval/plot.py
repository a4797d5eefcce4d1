"""A song's piano roll: the melody, the chords as shaded pitch classes, and each accompaniment (PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import ChordSpan
from encore.training.duet_eval.songs import SongWindow

MELODY_COLOR = "#1f4e9c"
PART_COLOR = "#e07b1a"
CHORD_COLOR = "#d9d9d9"


def _notes(notes: Sequence[NoteEvent], window_beats: float, color: str) -> PatchCollection:
    boxes = [Rectangle((n.onset_beats, n.pitch - 0.4), max(min(n.end_beats, window_beats) - n.onset_beats, 0.05), 0.8)
             for n in notes if n.onset_beats < window_beats and n.end_beats > 0]
    return PatchCollection(boxes, facecolor=color, edgecolor="none")


def _chords(chords: Sequence[ChordSpan], low: int, high: int, window_beats: float) -> PatchCollection:
    boxes = [Rectangle((max(c.start, 0.0), pitch - 0.5), min(c.end, window_beats) - max(c.start, 0.0), 1.0)
             for c in chords if c.end > 0 and c.start < window_beats
             for pitch in range(low, high + 1) if pitch % 12 in c.pitch_classes]
    return PatchCollection(boxes, facecolor=CHORD_COLOR, edgecolor="none")


def plot_song(window: SongWindow, parts: Mapping[str, Sequence[NoteEvent]], path: Path) -> Path:
    """One panel per part (title to notes, beats from the window's start) over the melody and the chords."""
    every = [n for notes in parts.values() for n in notes] + list(window.melody)
    low = min((n.pitch for n in every), default=48) - 2
    high = max((n.pitch for n in every), default=84) + 2
    figure = Figure(figsize=(16, 3.2 * len(parts)), layout="constrained")
    axes = figure.subplots(len(parts), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, notes) in zip(axes, parts.items(), strict=True):
        ax.add_collection(_chords(window.chords, low, high, window.window_beats))
        ax.add_collection(_notes(notes, window.window_beats, PART_COLOR))
        ax.add_collection(_notes(window.melody, window.window_beats, MELODY_COLOR))
        for bar in range(0, int(window.window_beats) + 1, window.bar_beats):
            ax.axvline(bar, color="#999999", linewidth=0.5)
        for chord in window.chords:
            if 0 <= chord.start < window.window_beats:
                ax.text(chord.start + 0.05, high + 0.5, chord.label, fontsize=6, va="bottom", clip_on=True)
        ax.set_xlim(0, window.window_beats)
        ax.set_ylim(low - 0.5, high + 3)
        ax.set_ylabel("pitch")
        ax.set_title(f"{title} (orange) with the melody (blue); grey: the annotated chord's pitch classes",
                     fontsize=9, loc="left")
    axes[-1].set_xlabel(f"beats from bar 1 of the window (song {window.song_id}, {window.bpm:.1f} bpm)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    return path
