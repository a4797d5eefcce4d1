"""Applying commands to a running show: the engine's write side, between two renders.

`CommandApplier` is a part of `Engine` (its base class), kept in its own module: it turns each
submitted command (and each cue or song change when its beat comes near) into changes of the clock,
the queue, the router and the voices, and resolves the command's ticket. Control latency is measured
from submission to the first note rendered under the new setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from encore.engine.control import (
    Command,
    Mute,
    Next,
    Panic,
    Reseed,
    SetGroove,
    SetSampling,
    SetTempo,
    Solo,
    Stop,
)
from encore.engine.midi import TEMPO_TRACK, MidiEvent, set_tempo
from encore.engine.report import ControlLatency
from encore.engine.results import Applied, CommandTicket, Rejected, Submitted
from encore.engine.voices.drums import DrumVoice
from encore.models.errors import EncoreError

log = logging.getLogger(__name__)


@dataclass
class LatencyMark:
    """A command waiting for the first note rendered under it (for control latency)."""

    submitted: Submitted
    voice: str
    from_beat: float



class CommandApplier:
    """The command-applying half of `Engine` (it uses the engine's clock, queue, router and voices)."""

    def _record_latency(self, submitted: Submitted, voice: str, show_time: float) -> None:
        seconds = self._origin + show_time - submitted.at
        self.control_latencies.append(ControlLatency(type(submitted.command).__name__, voice, seconds))

    def _apply(self, submitted: list[Submitted]) -> None:
        horizon = self.playhead() + self.lookahead_beats() + self.config.render_chunk_beats + self.clock.bar_beats
        cues = list(self._cues_due(horizon))
        for at_beat, command in cues:
            try:
                self._apply_one(Submitted(command, self._now(), CommandTicket(command)), at_beat)
            except (EncoreError, KeyError, ValueError) as error:
                log.warning("cue %s at beat %g ignored: %s", command, at_beat, error)
        for item in submitted:
            try:
                self.check(item.command)
                self._apply_one(item, None)
            except (EncoreError, KeyError, ValueError) as error:
                self.results.publish(item.ticket, Rejected(item.command, _one_line(error)))
            else:
                self.results.publish(item.ticket, Applied(item.command))

    def _cues_due(self, horizon: float) -> list[tuple[float, Command]]:
        """Cues and songs' commands whose beat is within `horizon`, in beat order."""
        due = []
        while self._cues and self._cues[0][0] <= horizon:
            due.append(self._cues.pop(0))
        if self.songs is not None:
            due += [(start, command) for start, song in self.songs.due(horizon) for command in song.commands]
        return sorted(due, key=lambda cue: cue[0])

    def _apply_one(self, item: Submitted, at_beat: float | None) -> None:
        command = item.command
        match command:
            case SetTempo(bpm=bpm):
                beat = at_beat if at_beat is not None else self.clock.next_beat(self.playhead())
                self.clock.set_tempo(bpm, beat)
                self.queue.retime(beat, self.clock.time_at)
                self.queue.push(MidiEvent(self.clock.time_at(beat), beat, set_tempo(bpm), TEMPO_TRACK))
                self._record_latency(item, TEMPO_TRACK, self.clock.time_at(beat))
            case SetSampling(voice=name):
                for voice in [self.voices[name]] if name is not None else self.voices.values():
                    voice.set_sampling(**command.changes())
                    self._marks.append(LatencyMark(item, voice.name, voice.position_beats))
            case Mute(voice=name, muted=muted):
                self.router.set_muted(self.voices[name].name, muted)
            case Solo(voice=name, soloed=soloed):
                self.router.set_soloed(self.voices[name].name, soloed)
            case Reseed(seed=seed, voice=name):
                voice = self.voices[name]
                beat = at_beat if at_beat is not None else self.clock.next_bar_line(voice.position_beats)
                voice.reprime(seed, beat)
                self._marks.append(LatencyMark(item, voice.name, beat))
            case SetGroove(voice=name, mode=mode, groove=groove, pattern=pattern):
                drums = self.voices[name]
                if not isinstance(drums, DrumVoice):
                    raise ValueError(f"voice {name} is not a drum voice")
                drums.set_part(mode, groove, pattern)
                self._marks.append(LatencyMark(item, drums.name, drums.position_beats))
            case Next():
                target, bar_line = self._next_target()
                assert self.songs is not None  # _next_target raises without songs
                self.songs.jump(target, bar_line)
                for start, cue in [(start, cue) for start, song in self.songs.due(bar_line) for cue in song.commands]:
                    try:
                        self._apply_one(Submitted(cue, item.at, CommandTicket(cue)), start)
                    except (EncoreError, KeyError, ValueError) as error:
                        log.warning("song cue %s at beat %g ignored: %s", cue, start, error)
            case Stop():
                self._stopped = True
            case Panic():
                self.queue.clear()
                now = max(self.show_time(), 0.0)
                self.router.release(now, self.clock.beat_at(now))


def _one_line(error: BaseException) -> str:
    """An exception as a one-line reason (a KeyError's quotes and any line breaks removed)."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__
