"""`SetTempo` (wire `tempo`): a new tempo from the next whole beat after the playhead; queued events are re-timed."""

from __future__ import annotations

from dataclasses import dataclass

from encore.engine.clock import MAX_BPM, MIN_BPM
from encore.engine.commands.checks import is_number
from encore.engine.control import Command, CommandError, ShowControl, wire_field
from encore.engine.latency import Asked
from encore.engine.midi import TEMPO_TRACK, MidiEvent, set_tempo


@dataclass(frozen=True)
class SetTempo(Command, wire="tempo"):
    """Change the tempo (quarter notes per minute); a cue changes it at its own beat."""

    bpm: float = wire_field("number")

    def check_values(self) -> None:
        if not is_number(self.bpm) or not MIN_BPM <= self.bpm <= MAX_BPM:
            raise CommandError(f"bpm: must be between {MIN_BPM:g} and {MAX_BPM:g}, got {self.bpm!r}")

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        clock = show.clock
        beat = at_beat if at_beat is not None else clock.next_beat(show.playhead())
        clock.set_tempo(self.bpm, beat)
        show.queue.retime(beat, clock.time_at)
        show.queue.push(MidiEvent(clock.time_at(beat), beat, set_tempo(self.bpm), TEMPO_TRACK))
        show.latency.record(asked, TEMPO_TRACK, clock.time_at(beat))
