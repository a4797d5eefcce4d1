"""The duet evaluation's results: per song and summed up over songs, as a Markdown table and JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from encore.training.duet_eval.measures import PartMeasures

ROWS = {
    "duet": "Encore duet",
    "free": "Encore with no performer",
    "real": "the song's real accompaniment",
    "tritone": "the same, a tritone away (floor)",
}
"""The parts scored, by key, as the table names them."""
MEASURES = tuple(f.name for f in fields(PartMeasures))
COLUMNS = (
    ("chord_tone_rate", "chord-tone rate (mean, song range)", "rate"),
    ("chance_rate", "chance level", "rate"),
    ("shifted_chord_rate", "chords a bar off", "rate"),
    ("clash_rate", "clash rate", "rate"),
    ("notes_per_s", "notes/s (x real)", "density"),
    ("aligned_onsets", "onsets within 50 ms of the melody's", "rate"),
    ("doubling_rate", "doubles the melody", "rate"),
    ("echo_rate", "echoes the melody's previous beat", "rate"),
    ("high_share", "notes at C4 or above", "share"),
)
"""The summary table's columns: measure, heading, how it is written."""


@dataclass(frozen=True)
class Stat:
    """A measure over songs: mean, lowest and highest (songs where it is undefined left out)."""

    mean: float | None
    low: float | None
    high: float | None
    songs: int


@dataclass(frozen=True)
class SongResult:
    """One song's measures per part, and what its two shows did (`DuetRun` without the notes)."""

    song_id: str
    bpm: float
    start_beats: float
    window_beats: float
    parts: Mapping[str, PartMeasures]
    runs: Mapping[str, Mapping[str, float | str | None]]

    def to_dict(self) -> dict:
        """JSON-safe."""
        return {"song_id": self.song_id, "bpm": self.bpm, "start_beats": self.start_beats,
                "window_beats": self.window_beats, "parts": {k: asdict(v) for k, v in self.parts.items()},
                "runs": {k: dict(v) for k, v in self.runs.items()}}


def stat(values: Sequence[float | None]) -> Stat:
    """Mean, range and count of the defined values."""
    kept = [v for v in values if v is not None]
    if not kept:
        return Stat(None, None, None, 0)
    return Stat(sum(kept) / len(kept), min(kept), max(kept), len(kept))


def density_ratio(result: SongResult, row: str) -> float | None:
    """A part's notes/s over the real accompaniment's in the same song."""
    real = result.parts["real"].notes_per_s
    return result.parts[row].notes_per_s / real if real else None


def summarize(results: Sequence[SongResult]) -> dict[str, dict[str, Stat]]:
    """Every measure of every part over the songs, plus `density_ratio` (notes/s against the real part's)."""
    summary: dict[str, dict[str, Stat]] = {}
    for row in ROWS:
        summary[row] = {name: stat([getattr(r.parts[row], name) for r in results]) for name in MEASURES}
        summary[row]["density_ratio"] = stat([density_ratio(r, row) for r in results])
    return summary


def _cell(value: Stat, kind: str, ratio: Stat | None = None) -> str:
    if value.mean is None:
        return ""
    if kind == "share":
        return f"{value.mean:.0%}"
    if kind == "density":
        return f"{value.mean:.1f}" + (f" ({ratio.mean:.2f}x)" if ratio is not None and ratio.mean is not None else "")
    text = f"{value.mean:.2f}"
    return text if value.low is None or value.songs < 2 else f"{text} ({value.low:.2f}-{value.high:.2f})"


def summary_table(summary: Mapping[str, Mapping[str, Stat]]) -> str:
    """The summary as a Markdown table: one row per part, the columns of `COLUMNS`."""
    lines = ["| | " + " | ".join(heading for _, heading, _ in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for row, label in ROWS.items():
        stats = summary[row]
        cells = [_cell(stats[name], kind, stats["density_ratio"]) for name, _, kind in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def song_table(results: Sequence[SongResult]) -> str:
    """Per song: chord-tone rate, chance level, notes/s and clash rate of each part, and the duet's work."""
    def rate(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    lines = ["| song | bpm | chord-tone rate duet / free / real / tritone | chance (duet) | notes/s duet / free / real "
             "| clash duet / real | duet: tokens, render s / music s |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        p, duet = r.parts, r.runs["duet"]
        tones = " / ".join(rate(p[k].chord_tone_rate) for k in ROWS)
        density = " / ".join(f"{p[k].notes_per_s:.1f}" for k in ("duet", "free", "real"))
        lines.append(f"| {r.song_id} | {r.bpm:.1f} | {tones} | {rate(p['duet'].chance_rate)} | {density} "
                     f"| {rate(p['duet'].clash_rate)} / {rate(p['real'].clash_rate)} "
                     f"| {duet['tokens']:.0f}, {duet['wall_s']:.0f} / {duet['show_s']:.0f} |")
    return "\n".join(lines)


def markdown(results: Sequence[SongResult], skipped: Mapping[str, str], header: str) -> str:
    """The whole report: a header line, the summary, the songs, the songs skipped and why."""
    parts = [header, "", summary_table(summarize(results)), "", song_table(results)]
    if skipped:
        parts += ["", "Skipped: " + "; ".join(f"{song} ({reason})" for song, reason in skipped.items())]
    return "\n".join(parts) + "\n"


def report_dict(results: Sequence[SongResult], skipped: Mapping[str, str], settings: Mapping[str, object]) -> dict:
    """The whole report as JSON-safe data: settings, summary, songs, skipped songs."""
    summary = {row: {name: asdict(value) for name, value in stats.items()} for row, stats in summarize(results).items()}
    return {"settings": dict(settings), "summary": summary, "songs": [r.to_dict() for r in results],
            "skipped": dict(skipped)}
