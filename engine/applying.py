"""Applying commands to a running show: the engine's write side, between two renders.

`CommandApplier` is a part of `Engine` (its base class), kept in its own module: it turns each
submitted command (and each cue or song change when its beat comes near) into changes of the clock,
the queue, the router and the voices, and resolves the command's ticket.

A command that changes what a voice plays (`SetSampling`, `Reseed`, `SetGroove`) revises the voice from
the commit horizon on (`EngineConfig.commit_s` ahead of the playhead; `encore.engine.revisions`), when
the voice can revise and revisions are on; otherwise it takes effect after what is already rendered.
A sampling change reaches back further, to the first of the voice's onsets that it can render again
before it is due (`revision_beat`).

Control latency runs from submission to the moment the first note rendered under the new setting
sounds: a `LatencyMark` finds that note when it is queued and is counted once its time has come; if a
later revision takes the note back first, the mark waits for the next one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from encore.engine.clock import VirtualClock
from encore.engine.control import (
    Command,
    Mute,
    Next,
    Panic,
    PerformerNote,
    Previous,
    Record,
    Reseed,
    Respond,
    SetGroove,
    SetPerformer,
    SetSampling,
    SetTempo,
    Solo,
    Stop,
)
from encore.engine.midi import TEMPO_TRACK, MidiEvent, set_tempo
from encore.engine.report import ControlLatency
from encore.engine.results import Applied, CommandTicket, Rejected, Submitted
from encore.engine.sinks.recorder import RecorderSink
from encore.engine.voices.base import Seed, Voice
from encore.engine.voices.drums import DrumVoice
from encore.models.errors import EncoreError

log = logging.getLogger(__name__)

ANSWER_BASE_S = 0.02
"""What a re-render costs besides its model steps: taking the request between two steps, the rewind, the
round trip through the event loop (measured: 10-15 ms; benchmarks/bench_engine.py)."""
ANSWER_MARGIN = 1.5
"""Model steps are counted this many times over, against a slow step on a busy machine."""


@dataclass
class LatencyMark:
    """A command waiting for the first note rendered under it to sound (for control latency).

    Attributes:
        submitted: The command and when it was submitted.
        voice: The voice whose notes count.
        from_beat: The first note at or after this beat, queued from a render after the command, counts.
        onset_beat: That note's beat once queued (None while waiting for it).
        onset_time: The show time it sounds at.
    """

    submitted: Submitted
    voice: str
    from_beat: float
    onset_beat: float | None = None
    onset_time: float | None = None


class CommandApplier:
    """The command-applying half of `Engine` (it uses the engine's clock, queue, router and voices)."""

    def _record_latency(self, submitted: Submitted, voice: str, show_time: float) -> None:
        seconds = self._origin + show_time - submitted.at
        self.control_latencies.append(ControlLatency(type(submitted.command).__name__, voice, seconds))

    def _match_marks(self, voice: str, kept: list[tuple[float, float]]) -> None:
        """Give each mark of `voice` still waiting the first of the notes just queued at or after its beat."""
        for mark in self._marks:
            if mark.voice == voice and mark.onset_beat is None:
                found = next(((beat, time) for beat, time in kept if beat >= mark.from_beat), None)
                if found is not None:
                    mark.onset_beat, mark.onset_time = found

    def _rearm_marks(self, voice: str, from_beat: float) -> None:
        """Marks whose note (at or after `from_beat`) was taken back wait for the next one from there."""
        for mark in self._marks:
            if mark.voice == voice and mark.onset_beat is not None and mark.onset_beat >= from_beat:
                mark.onset_beat = mark.onset_time = None
                mark.from_beat = max(mark.from_beat, from_beat)

    def _settle_marks(self, show_time: float) -> None:
        """Count the marks whose note has sounded by `show_time`."""
        for mark in [m for m in self._marks if m.onset_time is not None and m.onset_time <= show_time]:
            self._marks.remove(mark)
            self._record_latency(mark.submitted, mark.voice, mark.onset_time)

    def commit_beat(self) -> float:
        """The commit horizon: what sounds before this beat is final, what comes after can be revised."""
        return self.clock.beat_at(max(self.show_time(), 0.0) + (self.config.commit_s or 0.0))

    def revision_beat(self, voice: Voice) -> float:
        """Where a change to `voice` is heard from: the first onset of its queued notes, `commit_min_s` or
        more ahead and before the commit horizon, that it can render again before it is due; else the
        commit horizon."""
        horizon = self.commit_beat()
        seconds_per_token = self._seconds_per_token(voice)
        if self.config.commit_min_s is None or seconds_per_token is None:
            return horizon
        now = max(self.show_time(), 0.0)
        earliest = self.clock.beat_at(now + self.config.commit_min_s)
        for beat, notes in self.scheduler.onsets(voice.name, earliest, horizon):
            tokens = voice.answer_tokens(notes)
            if tokens is None:
                return horizon
            needed = ANSWER_BASE_S + ANSWER_MARGIN * tokens * seconds_per_token if seconds_per_token else 0.0
            if self.clock.time_at(beat) - now >= needed:
                return beat
        return horizon

    def _seconds_per_token(self, voice: Voice) -> float | None:
        """The voice's measured decoding time per token (None: not measured yet); 0 on the virtual clock,
        where renders take no show time."""
        if isinstance(self._now, VirtualClock):
            return 0.0
        speed = self.decode_speed(voice.name)
        return None if speed is None else 1.0 / speed

    def revises(self, voice: Voice) -> bool:
        """Whether a change to `voice` is heard from the commit horizon (rewinds on, and the voice can)."""
        return self.config.commit_s is not None and voice.revisable and voice.name in self.live

    def revise_voice(self, voice: Voice, from_beat: float, seed: Seed | None = None) -> None:
        """Make `voice` render again from `from_beat` (with `seed` from there); wake its feeder."""
        self.revisions.ask(voice, from_beat, seed)
        self._rearm_marks(voice.name, from_beat)
        self._wake(voice.name)

    def _changed(self, voice: Voice, item: Submitted) -> None:
        """`voice` plays under a new setting: revise it from the commit horizon, and mark the latency."""
        if self.revises(voice):
            beat = self.revision_beat(voice)
            self.revise_voice(voice, beat)
        else:
            beat = voice.position_beats
        self._marks.append(LatencyMark(item, voice.name, beat))

    def _apply(self, submitted: list[Submitted]) -> None:
        self._settle_marks(self.show_time())
        self.performer.tick(self)
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
                    self._changed(voice, item)
            case Mute(voice=name, muted=muted):
                self.router.set_muted(self.voices[name].name, muted)
            case Solo(voice=name, soloed=soloed):
                self.router.set_soloed(self.voices[name].name, soloed)
            case Reseed(seed=seed, voice=name):
                voice = self.voices[name]
                if at_beat is None and self.revises(voice):
                    beat = self.clock.next_bar_line(self.commit_beat())
                    self.revise_voice(voice, beat, seed)
                else:
                    beat = at_beat if at_beat is not None else self.clock.next_bar_line(voice.position_beats)
                    voice.reprime(seed, beat)
                self._marks.append(LatencyMark(item, voice.name, beat))
            case SetGroove(voice=name, mode=mode, groove=groove, pattern=pattern):
                drums = self.voices[name]
                if not isinstance(drums, DrumVoice):
                    raise ValueError(f"voice {name} is not a drum voice")
                drums.set_part(mode, groove, pattern)
                self._changed(drums, item)
            case Next() | Previous():
                target, bar_line = self._next_target(-1 if isinstance(command, Previous) else 1)
                assert self.songs is not None  # _next_target raises without songs
                self.songs.jump(target, bar_line)
                for start, cue in [(start, cue) for start, song in self.songs.due(bar_line) for cue in song.commands]:
                    try:
                        self._apply_one(Submitted(cue, item.at, CommandTicket(cue)), start)
                    except (EncoreError, KeyError, ValueError) as error:
                        log.warning("song cue %s at beat %g ignored: %s", cue, start, error)
            case Record(on=on):
                recorders = [sink for sink in self.sinks if isinstance(sink, RecorderSink)]
                if not recorders:
                    raise ValueError("record: this show has no recording (start it with --record FILE)")
                now = max(self.show_time(), 0.0)
                for recorder in recorders:
                    recorder.set_recording(on, now, self.clock.beat_at(now))
            case SetPerformer() | PerformerNote() | Respond():
                self.performer.apply(self, command)  # encore.engine.performer
            case Stop():
                self._stopped = True
            case Panic():
                self.queue.clear()
                self.revisions.drop()
                for name in self.voices:  # their notes will not sound: wait for the next ones
                    self._rearm_marks(name, -math.inf)
                now = max(self.show_time(), 0.0)
                self.router.release(now, self.clock.beat_at(now))


def _one_line(error: BaseException) -> str:
    """An exception as a one-line reason (a KeyError's quotes and any line breaks removed)."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__
