"""The engine: voices render ahead of a musical clock, a sender thread emits, sinks play and record.

Two drivers share every part: `run` (asyncio, real time: renders in one worker thread per voice, so
the event loop never waits on a model) and `run_offline` (a `VirtualClock`, as fast as the voices
render: headless shows, tests over a simulated hour). See docs/engine.md for the policies.

The write side is `submit` (a command, answered by a `CommandTicket`: applied or rejected and why),
the read side `snapshot()` (a frozen `ShowSnapshot`); surfaces use nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from encore.engine.applying import CommandApplier, LatencyMark
from encore.engine.clock import MusicalClock, VirtualClock, seconds_to_beats
from encore.engine.control import (
    Command,
    CommandError,
    Stop,
)
from encore.engine.event_queue import EventQueue
from encore.engine.midi import TEMPO_TRACK, MidiEvent, program_change, set_tempo
from encore.engine.note_log import NoteLog
from encore.engine.performer import Performer
from encore.engine.report import ControlLatency, ShowReport
from encore.engine.results import (
    SHOW_ENDED,
    CommandInbox,
    CommandResult,
    CommandTicket,
    Rejected,
    ResultHub,
)
from encore.engine.revisions import Revisions
from encore.engine.router import Router
from encore.engine.scheduler import LatePolicy, Scheduler
from encore.engine.sender import Sender
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.snapshot import RECENT_BARS, ShowSnapshot, SongSnapshot, take_snapshot
from encore.engine.songs import SongPlan, SongSchedule
from encore.engine.validation import check_command
from encore.engine.voices.base import Voice
from encore.models.notes import NoteEvent

log = logging.getLogger(__name__)

DECODE_WINDOW = 16
"""Decoding speed is measured over each voice's last this many renders."""
MIN_CHUNK_SHARE = 0.125
"""The shortest render, as a share of `render_chunk_beats` (a voice at or behind the playhead)."""


@dataclass(frozen=True)
class EngineConfig:
    """Timing settings of a show.

    Attributes:
        bpm: Starting tempo.
        time_signature: `(numerator, denominator)`.
        lookahead_bars: How far ahead of the playhead each voice stays, in bars.
        min_lookahead_s: The lookahead never falls below this many seconds.
        render_chunk_beats: A render goes at most this far past the voice's position (so renders are not
            per token, and a voice rewound far behind catches up in short renders).
        commit_s: The commit horizon: notes due within this many seconds of the playhead are final;
            later ones are revised when a command changes what their voice plays (docs/engine.md).
            None turns revisions off: a change then sounds after what is already rendered.
        commit_min_s: A change may reach back before the commit horizon, to the first onset of the voice's
            queued notes at least this far ahead that the voice can render again before it is due (from
            the voice's `answer_tokens` and its measured decoding speed; at once on the virtual clock).
            None: changes always wait for the commit horizon.
        preroll_beats: Rendered before the clock starts (the rest is rendered while playing).
        start_delay_s: Show time 0 is this long after the preroll ends.
        tick_s: How often the engine looks at its voices and commands.
        spin_s: The sender spins (instead of sleeping) this long before each deadline.
        sender_priority: SCHED_FIFO priority asked for the sender thread in real-time shows (None:
            normal priority); refused quietly without the privilege (docs/engine.md).
        switch_interval_s: `sys.setswitchinterval` during real-time shows (None leaves it), so the
            sender gets the GIL back from a decoding thread within this time (docs/engine.md).
        late: The underrun policy.
    """

    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    lookahead_bars: float = 1.0
    min_lookahead_s: float = 0.2
    render_chunk_beats: float = 1.0
    commit_s: float | None = 0.1
    commit_min_s: float | None = 0.05
    preroll_beats: float = 1.0
    start_delay_s: float = 0.05
    tick_s: float = 0.01
    spin_s: float = 0.002
    sender_priority: int | None = 10
    switch_interval_s: float | None = 0.0005
    late: LatePolicy = field(default_factory=LatePolicy)


class Engine(CommandApplier):
    """Plays voices into sinks under a musical clock.

    Args:
        voices: The voices; names must be unique.
        sinks: The outputs; all get every event.
        config: Timing settings.
        now: The clock in seconds (`time.perf_counter` live, a `VirtualClock` offline and in tests).
        songs: The setlist's songs (`set_songs`), for `Next`, the snapshot and the show's end.
    """

    def __init__(
        self,
        voices: Sequence[Voice],
        sinks: Sequence[Sink],
        config: EngineConfig | None = None,
        now: Callable[[], float] = time.perf_counter,
        songs: Sequence[SongPlan] = (),
    ) -> None:
        names = [voice.name for voice in voices]
        if len(set(names)) != len(names) or TEMPO_TRACK in names:
            raise ValueError(f"voice names must be unique and not {TEMPO_TRACK!r}: {names}")
        self.config = config or EngineConfig()
        self.clock = MusicalClock(self.config.bpm, self.config.time_signature)
        self.queue = EventQueue()
        self.sinks = list(sinks)
        self.note_log = NoteLog(RECENT_BARS * self.clock.bar_beats)
        self.router = Router([*sinks, self.note_log])
        self.scheduler = Scheduler(self.clock, self.queue, self.config.late)
        self.revisions = Revisions(self.scheduler)
        self.sender = Sender(self.queue, self.router.dispatch, now, self.config.spin_s, self.config.sender_priority)
        self.inbox = CommandInbox(now)
        self.results = ResultHub()
        self.songs: SongSchedule | None = SongSchedule(songs) if songs else None
        self.playing = False
        self.ended = False
        self.voices = {voice.name: voice for voice in voices}
        self.live = dict(self.voices)
        self.control_latencies: list[ControlLatency] = []
        self.voice_failures: list[str] = []
        self.performer = Performer()  # a performer's notes and mode (`encore.engine.performer`)
        self._now = now
        self._origin = 0.0
        self._started = 0.0
        self._stopped = False
        self.start_gate: Callable[[float], Awaitable[float]] | None = None  # an external clock's start (sync/)
        self.stop_requested = threading.Event()  # a Stop was submitted (it ends a wait at the start gate)
        self._command_arrived: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None  # wakes `run`
        self._marks: list[LatencyMark] = []
        self._cues: list[tuple[float, Command]] = []
        self._wakers: dict[str, asyncio.Event] = {}  # a real-time feeder waits on its voice's
        self._decoding: dict[str, deque[tuple[int, float]]] = {name: deque(maxlen=DECODE_WINDOW) for name in names}

    # Commands -----------------------------------------------------------------------------------

    def submit(self, command: Command) -> CommandTicket:
        """Queue a command from any thread, never blocking; applied at once in a real-time show (the engine's
        loop is woken), at the next tick offline (see `control`).

        Returns:
            A ticket resolving to `Applied` or `Rejected(reason)`. A command that `check` already
            refuses is rejected at once (the same reason the engine would give when applying it).
        """
        ticket = CommandTicket(command)
        try:
            self.check(command)
        except CommandError as error:
            self.results.publish(ticket, Rejected(command, str(error)))
            return ticket
        if not self.inbox.submit(command, ticket):
            self.results.publish(ticket, Rejected(command, SHOW_ENDED))
            return ticket
        if isinstance(command, Stop):
            self.stop_requested.set()
        if (waiting := self._command_arrived) is not None:  # a real-time show applies it now, not at the tick
            with contextlib.suppress(RuntimeError):  # the loop has closed: the show is over
                waiting[0].call_soon_threadsafe(waiting[1].set)
        return ticket

    def subscribe(self, callback: Callable[[CommandResult], None]) -> Callable[[], None]:
        """Call `callback(result)` for every command result, from the thread that resolved it.

        Returns:
            A function that unsubscribes. For a thread-safe queue, subscribe `queue.SimpleQueue().put`.
        """
        return self.results.subscribe(callback)

    def check(self, command: Command) -> None:
        """The one validation of a command against this show (`validation.check_command`).

        Raises:
            CommandError: why the command cannot be applied, in one line.
        """
        check_command(command, self.voices, self._next_target)

    def _next_target(self, step: int = 1) -> tuple[int, float]:
        """The song `Next` (step 1) or `Previous` (-1) starts, and the bar line (the first not yet rendered)."""
        if self.songs is None:
            raise CommandError(f"{'previous' if step < 0 else 'next'}: this show has no setlist")
        rendered = max((voice.position_beats for voice in tuple(self.live.values())), default=0.0)
        floor = max(rendered, self.playhead(), self.songs.last_applied_start, self.clock.segments[-1].beat)
        bar_line = self.clock.next_bar_line(floor)
        return self.songs.next_target(bar_line, step), bar_line

    def cue(self, command: Command, at_beat: float) -> None:
        """Apply `command` at `at_beat` (a song change in a setlist); call before the show.

        `SetTempo` and `Reseed` take effect exactly at `at_beat`; others when the voices' rendering
        comes within a bar of it.
        """
        self._cues.append((at_beat, command))
        self._cues.sort(key=lambda cue: cue[0])

    def stop(self) -> CommandTicket:
        """End the show at the next tick (thread-safe; signal handlers call this)."""
        return self.submit(Stop())

    def set_songs(self, songs: Sequence[SongPlan]) -> None:
        """The setlist's songs (call before the show): each later song's commands apply at its start,
        `Next` can jump, the snapshot names them, and the show ends with the last."""
        self.songs = SongSchedule(songs) if songs else None

    # Reading ------------------------------------------------------------------------------------

    def snapshot(self) -> ShowSnapshot:
        """The live state, frozen; from any thread, cheap enough to poll 30 times a second."""
        return take_snapshot(self)

    def songs_at(self, beat: float) -> tuple[SongSnapshot | None, SongSnapshot | None]:
        """The song sounding at `beat` and the next one (None, None without songs)."""
        return (None, None) if self.songs is None else self.songs.at(beat)

    def output_status(self) -> tuple[SinkStatus, ...]:
        """Every output's status; a sink the router dropped says so, with its last error."""
        present = set(map(id, self.router.sinks))
        dropped = {failure.sink: failure.error for failure in list(self.router.failures) if not failure.reopened}
        return tuple(SinkStatus(sink.name, sink.kind, "dropped", dropped[sink.name])
                     if sink.name in dropped and id(sink) not in present else sink.status()
                     for sink in self.sinks)

    def decode_speed(self, name: str) -> float | None:
        """Tokens per second of decoding over the voice's recent renders (None if it decodes no tokens)."""
        recent = list(self._decoding.get(name, ()))
        seconds = sum(s for _, s in recent)
        if self.voices[name].tokens is None or not recent or seconds <= 0:
            return None
        return sum(t for t, _ in recent) / seconds

    # Time ---------------------------------------------------------------------------------------

    def show_time(self) -> float:
        """Seconds since the show's origin."""
        return self._now() - self._origin

    def playhead(self) -> float:
        """The beat sounding now."""
        return self.clock.beat_at(self.show_time())

    def lookahead_beats(self) -> float:
        """Current lookahead: `lookahead_bars`, but never under `min_lookahead_s` at the current tempo."""
        bpm = self.clock.bpm_at(self.playhead())
        return max(self.config.lookahead_bars * self.clock.bar_beats, seconds_to_beats(self.config.min_lookahead_s, bpm))

    def _render_target(self, voice: Voice) -> float | None:
        """Where the voice's next render goes: while it is short of the lookahead, on by a chunk, but no
        further than it is ahead of the playhead (a voice just rewound to the commit horizon brings its
        first notes back after a few tokens, then twice as many...); where it is when a revision waits
        (the render takes it and returns); None when it need not render."""
        position, playhead = voice.position_beats, self.playhead()
        if position < playhead + self.lookahead_beats():
            chunk = self.config.render_chunk_beats
            return position + min(chunk, max(position - playhead, chunk * MIN_CHUNK_SHARE))
        return position if voice.revision_pending else None

    def _wake(self, name: str) -> None:
        """Wake the voice's real-time feeder (a revision waits)."""
        if (waker := self._wakers.get(name)) is not None:
            waker.set()

    # Drivers ------------------------------------------------------------------------------------

    async def run(self, seconds: float | None = None) -> ShowReport:
        """Play in real time until `seconds` of show time (or `Stop`); sounding notes are released.

        With `seconds=None` a show with songs ends where its last song ends (`Next` moves that).
        """
        loop = asyncio.get_running_loop()
        executors = {name: ThreadPoolExecutor(1, thread_name_prefix=f"voice-{name}") for name in self.voices}
        previous_interval = sys.getswitchinterval()
        if self.config.switch_interval_s is not None:
            sys.setswitchinterval(self.config.switch_interval_s)
        feeders: list[asyncio.Task[None]] = []
        self._started = self._now()
        try:
            prerolled = await asyncio.gather(
                *(self._guarded(loop.run_in_executor(executors[v.name], self._timed_render, v, self.config.preroll_beats), v)
                  for v in self.voices.values())
            )
            # What is alive now (the models, their weights, the voices' tables) moves out of the collector's
            # reach: otherwise a full collection over it holds the GIL for 100s of ms and stalls the
            # sender (benchmarks/bench_ui.py: sender jitter p99 3.7 ms without this, under 1 ms with it).
            gc.freeze()
            origin = self._now() + self.config.start_delay_s
            self._open(origin if self.start_gate is None else await self.start_gate(origin))
            self.sender.start(self._origin)
            for voice, notes in zip(self.voices.values(), prerolled, strict=True):
                self._schedule(voice, notes or [])
            feeders = [asyncio.create_task(self._feed(v, loop, executors[v.name])) for v in self.live.values()]
            arrived = asyncio.Event()
            self._command_arrived = (loop, arrived)
            while not self._stopped and (self.show_time() < seconds if seconds is not None else not self._songs_over()):
                self._apply(self.inbox.drain())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), self.config.tick_s)
                arrived.clear()
        finally:
            self._stopped = True
            self._command_arrived = None
            for task in feeders:
                task.cancel()
            await asyncio.gather(*feeders, return_exceptions=True)
            self.sender.stop()
            end = self.show_time() if seconds is None else min(self.show_time(), max(seconds, 0.0))
            if seconds is None and self.songs is not None:
                end = min(end, self.clock.time_at(self.songs.end_beat))
            report = self._finish(max(end, 0.0))
            for executor in executors.values():
                executor.shutdown(wait=False, cancel_futures=True)
            sys.setswitchinterval(previous_interval)
            gc.unfreeze()
        return report

    def run_offline(self, seconds: float | None = None, on_tick: Callable[[float], None] | None = None) -> ShowReport:
        """Play `seconds` of show time as fast as the voices render, on the engine's `VirtualClock`.

        Args:
            seconds: Show length (None: until the last song ends; the engine needs songs then).
            on_tick: Called with the show time at every tick (tests submit commands from it).
        """
        if not isinstance(self._now, VirtualClock):
            raise TypeError("run_offline needs the engine built with now=VirtualClock()")
        if seconds is None and self.songs is None:
            raise ValueError("run_offline needs seconds, or songs to end with")
        clock = self._now
        self._started = clock()
        prerolled = {name: self._render_guarded(v, self.config.preroll_beats) for name, v in self.voices.items()}
        self._open(clock())
        for name, notes in prerolled.items():
            self._schedule(self.voices[name], notes)
        end = seconds
        for tick in range(math.ceil(seconds / self.config.tick_s)) if seconds is not None else itertools.count():
            show_time = tick * self.config.tick_s
            clock.set(self._origin + show_time)
            if seconds is None and self._songs_over():
                end = self.clock.time_at(self.songs.end_beat) if self.songs is not None else show_time
                break
            if on_tick is not None:
                on_tick(show_time)
            self._apply(self.inbox.drain())
            if self._stopped:
                break
            for voice in list(self.live.values()):
                if (target := self._render_target(voice)) is not None:
                    self._schedule(voice, self._render_guarded(voice, target))
            self.sender.pump(show_time)
        if not self._stopped and end is not None:
            self.sender.pump(math.nextafter(end, -math.inf))
            clock.set(self._origin + end)
            if seconds is None:  # the tick may have passed the songs' end; the show ends there
                return self._finish(end)
        return self._finish(self.show_time())

    # Parts of both drivers ----------------------------------------------------------------------

    def _songs_over(self) -> bool:
        """Whether the playhead has passed the end of the last song."""
        return self.songs is not None and self.playhead() >= self.songs.end_beat

    def _open(self, origin: float) -> None:
        self._origin = origin
        self.playing = True
        self.router.dispatch(MidiEvent(0.0, 0.0, set_tempo(self.config.bpm), TEMPO_TRACK))
        for voice in self.voices.values():
            self.router.dispatch(MidiEvent(0.0, 0.0, program_change(voice.channel, voice.program), voice.name))

    async def _feed(self, voice: Voice, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor) -> None:
        waker = self._wakers[voice.name] = asyncio.Event()
        while not self._stopped and voice.name in self.live:
            target = self._render_target(voice)
            if target is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker.wait(), self.config.tick_s)
                waker.clear()
                continue
            notes = await self._guarded(loop.run_in_executor(executor, self._timed_render, voice, target), voice)
            if notes is not None and not self._stopped:
                self._schedule(voice, notes)

    async def _guarded(self, rendering: asyncio.Future[list[NoteEvent]], voice: Voice) -> list[NoteEvent] | None:
        try:
            return await rendering
        except Exception as error:  # a failing voice is stopped; the show goes on
            self._fail(voice, error)
            return None

    def _timed_render(self, voice: Voice, beat: float) -> list[NoteEvent]:
        """`voice.render`, timed for its decoding speed (in the voice's worker thread)."""
        tokens, start = voice.tokens, time.perf_counter()
        notes = voice.render(beat)
        if tokens is not None and voice.tokens is not None and voice.tokens > tokens:
            self._decoding[voice.name].append((voice.tokens - tokens, time.perf_counter() - start))
        return notes

    def _render_guarded(self, voice: Voice, beat: float) -> list[NoteEvent]:
        try:
            return self._timed_render(voice, beat)
        except Exception as error:  # a failing voice is stopped; the show goes on
            self._fail(voice, error)
            return []

    def _fail(self, voice: Voice, error: Exception) -> None:
        log.error("voice %s failed: %s: %s", voice.name, type(error).__name__, error)
        self.voice_failures.append(f"{voice.name}: {type(error).__name__}: {error}")
        self.live.pop(voice.name, None)
        self.queue.drop_track(voice.name)
        self.revisions.drop(voice.name)
        now = max(self.show_time(), 0.0)
        self.router.release(now, self.clock.beat_at(now), [voice.channel])

    def _schedule(self, voice: Voice, notes: list[NoteEvent]) -> None:
        """Queue a render's notes, after what the render revised (`Revisions.settle`)."""
        if voice.name not in self.live:
            return
        if self.songs is not None:  # a song's crossfade ramps its voices' velocities (songs.py)
            notes = self.songs.shape(voice.name, notes)
        notes = self.performer.shape(voice.name, notes, self)  # call and response: the piano's rests
        settled = self.revisions.settle(voice, notes)
        if settled.void_from is not None:
            self._rearm_marks(voice.name, settled.void_from)
        now = self.show_time()
        self.scheduler.schedule(voice.name, voice.channel, settled.released, now)
        self._match_marks(voice.name, self.scheduler.schedule(voice.name, voice.channel, settled.fresh, now))

    def _finish(self, end: float) -> ShowReport:
        self._settle_marks(end)
        self.playing, self.ended = False, True
        for item in self.inbox.close():
            self.results.publish(item.ticket, Rejected(item.command, SHOW_ENDED))
        self.queue.clear()
        self.router.release(end, self.clock.beat_at(end))
        self.router.close()
        for voice in self.voices.values():
            try:
                voice.close()
            except Exception as error:  # closing must reach every voice
                log.warning("voice %s failed to close: %s", voice.name, error)
        first = self.sender.first_note_time
        return ShowReport(
            seconds=end,
            beats=self.clock.beat_at(end),
            notes_sent=self.sender.notes_sent,
            counts=self.scheduler.counts,
            lateness=self.sender.lateness,
            first_note_s=None if first is None else self._origin + first - self._started,
            control_latencies=self.control_latencies,
            voice_failures=self.voice_failures,
            sink_failures=self.router.failures,
        )
