"""What a show reports when it ends: counts, timing statistics, failures."""

from __future__ import annotations

from dataclasses import dataclass, field

from encore.engine.router import SinkFailure
from encore.engine.scheduler import ScheduleCounts


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of `values`; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


@dataclass(frozen=True)
class ControlLatency:
    """Seconds from a command's submission to the first note sounding under it."""

    command: str
    voice: str
    seconds: float


@dataclass
class ShowReport:
    """Summary of one show.

    Attributes:
        seconds: Show time played.
        beats: Beats played.
        notes_sent: Note-ons that reached the sinks.
        counts: Scheduler totals (notes, shifted, held, dropped: lost, underruns).
        lateness: Per channel message sent, send time minus scheduled time, in seconds.
        first_note_s: Seconds from the start of `run` to the first note-on sent (None if none).
        control_latencies: One entry per command whose effect was heard.
        voice_failures: `"name: error"` for each voice that raised and was stopped.
        sink_failures: Every sink failure, reopened or dropped.
        voice_lines: What voices add to the summary (`Voice.report_line`: the piano's originality guard).
        by_voice: The scheduler's counts per voice (`ScheduleCounts`: who was late, shifted, lost).
        tokens_per_s: Per voice that decodes tokens, its decoding speed over the whole show.
        sender_scheduling: How the sender thread ran (`Sender.scheduling`; empty offline).
    """

    seconds: float
    beats: float
    notes_sent: int
    counts: ScheduleCounts
    lateness: list[float] = field(repr=False)
    first_note_s: float | None
    control_latencies: list[ControlLatency]
    voice_failures: list[str]
    sink_failures: list[SinkFailure]
    voice_lines: list[str] = field(default_factory=list)
    by_voice: dict[str, ScheduleCounts] = field(default_factory=dict)
    tokens_per_s: dict[str, float] = field(default_factory=dict)
    sender_scheduling: str = ""

    def jitter_ms(self) -> dict[str, float]:
        """Lateness p50/p99/max in milliseconds."""
        return {
            "p50": 1000 * percentile(self.lateness, 0.5),
            "p99": 1000 * percentile(self.lateness, 0.99),
            "max": 1000 * max(self.lateness, default=0.0),
        }

    def summary(self) -> str:
        """One line for the console."""
        jitter = self.jitter_ms()
        return (
            f"{self.seconds:.1f} s, {self.beats:.1f} beats, {self.notes_sent} notes, "
            f"{self.counts.line()}, "
            f"jitter p50 {jitter['p50']:.2f} ms p99 {jitter['p99']:.2f} ms max {jitter['max']:.2f} ms, "
            f"{len(self.voice_failures)} voice and {len(self.sink_failures)} sink failures"
            + (f"; sender {self.sender_scheduling}" if self.sender_scheduling.startswith("normal (") else "")
            + "".join(f"; {name} late: {counts.line()}" for name, counts in self.by_voice.items() if counts.underruns)
            + "".join(f"; {line}" for line in self.voice_lines)
        )
