"""Playing with a performer: how a keyboard's notes (`--midi-in`, wire `note`) reach the voices.

Every note is recorded on its own track, `performer` (journaled like the rest), on the setlist's
`[performer] channel`; it is sounded by the performer's own instrument, so Encore sends it to no
other output unless `echo = true`. What else it does depends on the mode (`SetPerformer`, wire
`performer`; `[performer] mode` in the setlist, `performer = "..."` per song):

| mode            | the performer's notes                                                              |
| --------------- | ---------------------------------------------------------------------------------- |
| `off`           | are recorded, nothing else                                                          |
| `call-response` | are a call: the piano rests from the first note's commit horizon; at `Respond` (a pedal, CC 67) or `silence_s` after the last key went up, it is re-primed with the call and continues it from the next whole beat after the commit horizon |
| `duet`          | enter the piano's context at their positions in the bar as they are played (`encore.models.piano.duet`), and the piano's lookahead past the commit horizon is rendered again, so it answers them |
| `drums-follow`  | are the drums' `NoteTap`: the drum voice follows them (mode `follow-piano`, locked to the played onsets) instead of the piano |

Everything here runs in the engine's thread, between two renders; the performer reads and changes the
show through `ShowControl` (`encore.engine.control`), as commands do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from encore.engine.control import CommandError
from encore.engine.voices.note_tap import NoteTap
from encore.models.notes import NoteEvent

if TYPE_CHECKING:
    from encore.engine.control import ShowControl
    from encore.engine.voices.base import Voice
    from encore.engine.voices.drums import DrumPart, DrumVoice
    from encore.engine.voices.piano import PianoVoice

log = logging.getLogger(__name__)

PERFORMER_TRACK = "performer"
"""The recording's track of the performer's notes."""
MODES = ("off", "call-response", "duet", "drums-follow")
FIRST_DURATION_BEATS = 0.5
"""A note-on's provisional duration in the duet's context before any note has ended (then: the last one's)."""
LONGEST_DURATION_BEATS = 4.0
"""A provisional duration is never longer than this."""


@dataclass(frozen=True)
class PerformerSettings:
    """The setlist's `[performer]` table.

    Attributes:
        mode: The mode the show starts in (`MODES`).
        silence_s: Call and response: the piano answers this long after the last key went up (0: only
            on `Respond`).
        channel: MIDI channel (1-16) the performer's notes are recorded on.
        echo: Also send them to the show's outputs (MIDI port, synth), as if Encore played them.
    """

    mode: str = "off"
    silence_s: float = 2.0
    channel: int = 2
    echo: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}")
        if not (math.isfinite(self.silence_s) and self.silence_s >= 0):
            raise ValueError("silence_s: must be a number of seconds >= 0 (0: answer only on the pedal)")
        if not 1 <= self.channel <= 16:
            raise ValueError("channel: must be 1-16")


def check_mode(mode: str, voices: Mapping[str, Voice], revisions: bool = True) -> None:
    """Whether a show with `voices` can play in `mode`.

    Args:
        mode: The mode asked.
        voices: The show's voices.
        revisions: Whether the engine revises its lookahead (`EngineConfig.commit_s` is not None).

    Raises:
        CommandError: the mode is unknown, the voice it needs is missing, or a duet's piano cannot take
            the performer's notes in (with revisions off, or a piano that cannot rewind, they would wait for
            a revision that never comes).
    """
    if mode not in MODES:
        raise CommandError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    piano = _piano(voices)
    if mode in ("call-response", "duet") and piano is None:
        raise CommandError(f"performer: mode {mode} needs a piano voice (voices: {', '.join(voices)})")
    if mode == "duet" and piano is not None and not (revisions and piano.revisable):
        raise CommandError("performer: mode duet needs revisions (commit_s set and a piano that can rewind): "
                           "the piano takes the performer's notes in only by rendering again")
    if mode == "drums-follow" and _drums(voices) is None:
        raise CommandError(f"performer: mode drums-follow needs a drum voice (voices: {', '.join(voices)})")


class Performer:
    """The engine's side of a performer: the notes held, the call played, the drums' tap, the mode.

    Args:
        settings: The setlist's `[performer]` settings.

    Attributes:
        tap: The performer's notes for a drum voice (onsets with provisional durations).
        heard: Duet: `(beat the piano was revised from, perf time)` of each note-on sent to the piano.
    """

    def __init__(self, settings: PerformerSettings | None = None) -> None:
        self.settings = settings or PerformerSettings()
        self.mode = "off"
        self.tap = NoteTap()
        self.heard: list[tuple[float, float]] = []
        self._held: dict[int, NoteEvent] = {}
        self._call: list[NoteEvent] = []
        self._rests: list[tuple[float, float]] = []  # call and response: the piano's notes in [from, until) drop
        self._quiet_since: float | None = None  # show seconds of the last key up with none held
        self._last_duration = FIRST_DURATION_BEATS
        self._drums_before: tuple[NoteTap | None, DrumPart] | None = None

    @property
    def calling(self) -> bool:
        """Call and response: whether a call is being played (the piano rests)."""
        return bool(self._call or self._held) and self.mode == "call-response"

    def start(self, show: ShowControl) -> None:
        """Enter the settings' mode (before the show plays).

        Raises:
            CommandError: the show cannot play in that mode (`check_mode`).
        """
        if self.settings.mode != "off":
            check_mode(self.settings.mode, show.voices, show.horizon.config.commit_s is not None)
            self.set_mode(show, self.settings.mode)

    def note(self, show: ShowControl, pitch: int, velocity: int, beat: float) -> None:
        """A key going down (`velocity` > 0) or up at show `beat` (`PerformerNote`)."""
        if velocity > 0:
            self._note_on(show, pitch, velocity, max(beat, 0.0))
        else:
            self._note_off(show, pitch, max(beat, 0.0))

    def respond(self, show: ShowControl) -> None:
        """Call and response: answer the call now (`Respond`).

        Raises:
            ValueError: not in call and response, or nothing played (the ticket is rejected with it).
        """
        if self.mode != "call-response":
            raise ValueError(f"respond: the performer mode is {self.mode}, not call-response")
        if not self._call and not self._held:
            raise ValueError("respond: nothing played to respond to")
        self._respond(show)

    def set_mode(self, show: ShowControl, mode: str) -> None:
        """Leave the mode played in and enter `mode` (`SetPerformer`; checked by `check_mode` already)."""
        if mode == self.mode:
            return
        if self.mode == "drums-follow":
            self._unfollow(show)
        if self.mode == "call-response":
            self._call.clear()
            self._end_rest(show.clock.next_beat(show.horizon.commit_beat()))
        self.mode = mode
        if mode == "drums-follow":
            self._follow(show)

    def tick(self, show: ShowControl) -> None:
        """Every engine tick: the tap follows the playhead; a call ends after its silence."""
        now = max(show.show_time(), 0.0)
        self.tap.publish([], show.clock.beat_at(now))
        silence = self.settings.silence_s
        if (self.mode == "call-response" and self._call and not self._held and silence > 0
                and self._quiet_since is not None and now - self._quiet_since >= silence):
            self._respond(show)

    def shape(self, voice: str, notes: list[NoteEvent], show: ShowControl) -> list[NoteEvent]:
        """A render's notes without those of the piano's rest (call and response)."""
        piano = _piano(show.voices)
        if not self._rests or piano is None or voice != piano.name:
            return notes
        playhead = show.playhead()
        self._rests = [rest for rest in self._rests if rest[1] > playhead - show.clock.bar_beats]
        return [note for note in notes if not any(start <= note.onset_beats < end for start, end in self._rests)]

    # Notes -----------------------------------------------------------------------------------------

    def _note_on(self, show: ShowControl, pitch: int, velocity: int, beat: float) -> None:
        from encore.engine.midi import note_on

        self._note_off(show, pitch, beat)  # a key struck again while held ends its note first
        starts_call = not self._call and not self._held
        note = NoteEvent(beat, pitch, velocity, self._last_duration)
        self._held[pitch] = note
        self._quiet_since = None
        self._record(show, beat, note_on(self.settings.channel - 1, pitch, velocity))
        self.tap.publish([note], beat)
        if self.mode == "call-response" and starts_call:
            self._start_rest(show)
        elif self.mode == "duet":
            self._hear(show, note)

    def _note_off(self, show: ShowControl, pitch: int, beat: float) -> None:
        from encore.engine.midi import note_off

        note = self._held.pop(pitch, None)
        if note is None:
            return
        self._record(show, beat, note_off(self.settings.channel - 1, pitch))
        duration = max(beat - note.onset_beats, 1.0 / 32.0)
        self._last_duration = min(duration, LONGEST_DURATION_BEATS)
        if self.mode == "call-response":
            self._call.append(NoteEvent(note.onset_beats, pitch, note.velocity, duration))
        if not self._held:
            self._quiet_since = max(show.show_time(), 0.0)

    def _record(self, show: ShowControl, beat: float, message: tuple[int, ...]) -> None:
        """The performer's track: to the recordings and the note log, or with `echo` to every output."""
        from encore.engine.midi import MidiEvent
        from encore.engine.sinks.recorder import RecorderSink

        event = MidiEvent(show.clock.time_at(beat), beat, message, PERFORMER_TRACK)
        if self.settings.echo:
            show.queue.push(event)  # the sender sends it now, through the router like any note
            return
        for sink in [sink for sink in list(show.router.sinks) if isinstance(sink, RecorderSink)] + [show.note_log]:
            try:
                sink.send(event)
            except Exception as error:  # noqa: BLE001 - a failing recording must not lose the performer
                log.warning("performer note not recorded by %s: %s", sink.name, error)

    # Duet --------------------------------------------------------------------------------------------

    def _hear(self, show: ShowControl, note: NoteEvent) -> None:
        """The piano takes the note into its context and renders again from the commit horizon."""
        import time

        piano = _piano(show.voices)
        if piano is None or not show.horizon.revises(piano):  # not live (or no revisions: refused at start)
            return
        piano.hear(note)
        beat = show.horizon.commit_beat()
        show.horizon.revise(piano, beat)
        self.heard.append((beat, time.perf_counter()))

    # Call and response -------------------------------------------------------------------------------

    def _start_rest(self, show: ShowControl) -> None:
        """The piano rests from the commit horizon: its notes from there are rendered again and dropped."""
        piano = _piano(show.voices)
        beat = show.horizon.commit_beat()
        self._rests.append((beat, math.inf))
        if piano is not None and show.horizon.revises(piano):
            show.horizon.revise(piano, beat)

    def _end_rest(self, beat: float) -> None:
        """The open rest ends at `beat`."""
        if self._rests and math.isinf(self._rests[-1][1]):
            self._rests[-1] = (self._rests[-1][0], max(beat, self._rests[-1][0]))

    def _respond(self, show: ShowControl) -> None:
        """Re-prime the piano with the call, barred so that the next beat after the commit horizon is a
        bar line of it: the piano continues the phrase from that beat, in the show's metre."""
        from encore.engine.voices.base import Seed

        piano = _piano(show.voices)
        now_beat = show.clock.beat_at(max(show.show_time(), 0.0))
        call = self._call + [NoteEvent(n.onset_beats, n.pitch, n.velocity, max(now_beat - n.onset_beats, 1.0 / 32.0))
                             for n in self._held.values()]
        self._call.clear()
        at = show.clock.next_beat(show.horizon.commit_beat())
        self._end_rest(at)
        if piano is None or not call:
            return
        bar = show.clock.bar_beats
        first = min(note.onset_beats for note in call)
        origin = at - math.ceil((at - first) / bar - 1e-9) * bar
        seed: Seed = tuple(NoteEvent(n.onset_beats - origin, n.pitch, n.velocity, n.duration_beats)
                           for n in sorted(call, key=lambda n: (n.onset_beats, n.pitch)))
        if show.horizon.revises(piano):
            show.horizon.revise(piano, at, seed)
        else:
            piano.reprime(seed, at)

    # Drums follow --------------------------------------------------------------------------------------

    def _follow(self, show: ShowControl) -> None:
        drums = _drums(show.voices)
        if drums is None:
            return
        self._drums_before = (drums.follow, drums.part)
        drums.follow = self.tap
        drums.set_part(mode="follow-piano")
        self._revise_drums(show, drums)

    def _unfollow(self, show: ShowControl) -> None:
        drums = _drums(show.voices)
        if drums is None or self._drums_before is None:
            return
        follow, part = self._drums_before
        self._drums_before = None
        drums.follow = follow
        drums.set_part(part.mode, part.groove, part.pattern)
        self._revise_drums(show, drums)

    @staticmethod
    def _revise_drums(show: ShowControl, drums: DrumVoice) -> None:
        if show.playing and show.horizon.revises(drums):
            show.horizon.revise(drums, show.horizon.commit_beat())


def _piano(voices: Mapping[str, Voice]) -> PianoVoice | None:
    """The show's piano voice (the first), if any."""
    from encore.engine.voices.piano import PianoVoice

    return next((voice for voice in voices.values() if isinstance(voice, PianoVoice)), None)


def _drums(voices: Mapping[str, Voice]) -> DrumVoice | None:
    """The show's drum voice (the first), if any."""
    from encore.engine.voices.drums import DrumVoice

    return next((voice for voice in voices.values() if isinstance(voice, DrumVoice)), None)
