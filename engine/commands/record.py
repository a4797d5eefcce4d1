"""`Record` (wire `record`): pause or resume the show's `--record` file, now."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.commands.checks import check_flag
from encore.engine.control import Command, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.sinks.recorder import RecorderSink


@dataclass(frozen=True)
class Record(Command, wire="record"):
    """Resume (`on`) or pause the show's recording; pausing ends the notes sounding in the file."""

    on: bool = wire_field("bool", True)

    def check_values(self) -> None:
        check_flag("on", self.on)

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        recorders = [sink for sink in show.sinks if isinstance(sink, RecorderSink)]
        if not recorders:
            raise ValueError("record: this show has no recording (start it with --record FILE)")
        now = max(show.show_time(), 0.0)
        for recorder in recorders:
            recorder.set_recording(self.on, now, show.clock.beat_at(now))
