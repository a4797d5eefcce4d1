"""The engine: voices render ahead of a musical clock, a sender thread emits, sinks play and record.

Two drivers share every part: `run` (asyncio, real time: renders in one worker thread per voice, so
the event loop never waits on a model) and `run_offline` (a `VirtualClock`, as fast as the voices
render: headless shows, tests over a simulated hour). See docs/engine.md for the policies.

The write side is `submit` (a command, answered by a `CommandTicket`: applied or rejected and why),
the read side `snapshot()` (a frozen `ShowSnapshot`); surfaces use nothing else. Commands are applied by
a collaborator, `Applier` (`applying.py`); they, and the performer, read and change the show through
`ShowControl` (`control.py`), which the engine implements: its clock, voices, queue and router,
`horizon` (where a change is heard from: `horizon.py`), `latency` (`latency.py`), `jump` and `end_show`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from encore.engine.applying import Applier
from encore.engine.clock import MusicalClock, VirtualClock
from encore.engine.commands.transport import Stop
from encore.engine.config import EngineConfig
from encore.engine.control import Command, CommandError
from encore.engine.decoding import DecodeMeter
from encore.engine.event_queue import EventQueue
from encore.engine.horizon import Horizon
from encore.engine.latency import LatencyMarks
from encore.engine.midi import TEMPO_TRACK, MidiEvent, program_change, set_tempo
from encore.engine.note_log import NoteLog
from encore.engine.performer import Performer
from encore.engine.realtime import voice_threads
from encore.engine.report import ControlLatency, ShowReport
from encore.engine.results import CommandResult, CommandTicket
from encore.engine.revisions import Revisions
from encore.engine.router import Router
from encore.engine.scheduler import Scheduler
from encore.engine.sender import Sender
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.snapshot import RECENT_BARS, ShowSnapshot, SongSnapshot, take_snapshot
from encore.engine.songs import SongPlan, SongSchedule
from encore.engine.voices.base import Voice
from encore.models.notes import NoteEvent

log = logging.getLogger(__name__)

class Engine:
    """Plays voices into sinks under a musical clock.

    Args:
        voices: The voices; names must be unique.
        sinks: The outputs; all get every event.
        config: Timing settings.
        now: The clock in seconds (`time.perf_counter` live, a `VirtualClock` offline and in tests).
        songs: The setlist's songs (`set_songs`), for `Next`, the snapshot and the show's end.
    """

    def __init__(self, voices: Sequence[Voice], sinks: Sequence[Sink], config: EngineConfig | None = None,
                 now: Callable[[], float] = time.perf_counter, songs: Sequence[SongPlan] = ()) -> None:
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
        self.songs: SongSchedule | None = SongSchedule(songs) if songs else None
        self.playing = False
        self.ended = False
        self.voices = {voice.name: voice for voice in voices}
        self.live = dict(self.voices)
        self.voice_failures: list[str] = []
        self.performer = Performer()  # a performer's notes and mode (`encore.engine.performer`)
        self.decoding = DecodeMeter(self.voices, isinstance(now, VirtualClock))
        self.latency = LatencyMarks(lambda show_time: self._origin + show_time)
        self.control_latencies: list[ControlLatency] = self.latency.latencies  # the same list, for the report
        self.horizon = Horizon(self.config, self.clock, self.show_time, self.revisions, self.latency, self.live,
                               self.decoding.seconds_per_token, self._wake)
        self.applier = Applier(self, self._songs_due, now)  # the write side (`applying.py`)
        self._now = now
        self._origin = 0.0
        self._started = 0.0
        self._stopped = False
        self.start_gate: Callable[[float], Awaitable[float]] | None = None  # an external clock's start (sync/)
        self.stop_requested = threading.Event()  # a Stop was submitted (it ends a wait at the start gate)
        self._command_arrived: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None  # wakes `run`
        self._wakers: dict[str, asyncio.Event] = {}  # a real-time feeder waits on its voice's

    # Commands -----------------------------------------------------------------------------------

    def submit(self, command: Command) -> CommandTicket:
        """Queue a command from any thread, never blocking; applied at once in a real-time show (the engine's
        loop is woken), at the next tick offline (`applying.py`).

        Returns:
            A ticket resolving to `Applied` or `Rejected(reason)`. A command that `check` already
            refuses is rejected at once (the same reason the engine would give when applying it).
        """
        ticket, queued = self.applier.submit(command)
        if not queued:
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
        return self.applier.results.subscribe(callback)

    def check(self, command: Command) -> None:
        """The one validation of a command against this show (`Applier.check`).

        Raises:
            CommandError: why the command cannot be applied, in one line.
        """
        self.applier.check(command)

    def next_target(self, step: int = 1) -> tuple[int, float]:
        """The song `Next` (step 1) or `Previous` (-1) starts, and the bar line (the first not yet rendered)."""
        if self.songs is None:
            raise CommandError(f"{'previous' if step < 0 else 'next'}: this show has no setlist")
        rendered = max((voice.position_beats for voice in tuple(self.live.values())), default=0.0)
        floor = max(rendered, self.playhead(), self.songs.last_applied_start, self.clock.segments[-1].beat)
        bar_line = self.clock.next_bar_line(floor)
        return self.songs.next_target(bar_line, step), bar_line

    def jump(self, target: int, bar_line: float) -> list[tuple[float, Command]]:
        """Start song `target` at `bar_line` (`Next`, `Previous`); returns its commands due there, with their beats."""
        assert self.songs is not None  # `next_target` raised without songs
        self.songs.jump(target, bar_line)
        return self._songs_due(bar_line)

    def end_show(self) -> None:
        """End the show at this tick (`Stop`; sounding notes are released)."""
        self._stopped = True

    def _songs_due(self, horizon: float) -> list[tuple[float, Command]]:
        """The songs' commands due by `horizon`, with their beats (`SongSchedule.commands_due`)."""
        return [] if self.songs is None else self.songs.commands_due(horizon)

    def _tick(self) -> None:
        """Between two renders: count the latencies heard, let the performer follow, apply what is due."""
        self.latency.settle(self.show_time())
        self.performer.tick(self)
        horizon = self.playhead() + self.lookahead_beats() + self.config.render_chunk_beats + self.clock.bar_beats
        self.applier.apply(horizon)

    def cue(self, command: Command, at_beat: float) -> None:
        """Apply `command` at `at_beat` (a song change in a setlist); call before the show.

        `SetTempo` and `Reseed` take effect exactly at `at_beat`; others when the voices' rendering
        comes within a bar of it.
        """
        self.applier.cue(command, at_beat)

    def stop(self) -> CommandTicket:
        """End the show at the next tick (thread-safe; signal handlers call this)."""
        return self.submit(Stop())

    def set_songs(self, songs: Sequence[SongPlan]) -> None:
        """The setlist's songs (call before the show): each later song's commands apply at its start,
        `Next` can jump, the snapshot names them, and the show ends with the last."""
        self.songs = SongSchedule(songs) if songs else None

    # Reading and time ---------------------------------------------------------------------------

    def snapshot(self) -> ShowSnapshot:
        """The live state, frozen; from any thread, cheap enough to poll 30 times a second."""
        return take_snapshot(self)

    def songs_at(self, beat: float) -> tuple[SongSnapshot | None, SongSnapshot | None]:
        """The song sounding at `beat` and the next one (None, None without songs)."""
        return (None, None) if self.songs is None else self.songs.at(beat)

    def output_status(self) -> tuple[SinkStatus, ...]:
        """Every output's status; a sink the router dropped says so, with its last error."""
        return self.router.status(self.sinks)

    def decode_speed(self, name: str) -> float | None:
        """Tokens per second of decoding over the voice's recent renders (None if it decodes no tokens)."""
        return self.decoding.speed(name)

    def show_time(self) -> float:
        """Seconds since the show's origin."""
        return self._now() - self._origin

    def playhead(self) -> float:
        """The beat sounding now."""
        return self.clock.beat_at(self.show_time())

    def lookahead_beats(self) -> float:
        """Current lookahead (`EngineConfig.lookahead_beats` at the tempo sounding)."""
        return self.config.lookahead_beats(self.clock.bpm_at(self.playhead()), self.clock.bar_beats)

    def _render_target(self, voice: Voice) -> float | None:
        """Where the voice's next render goes (`EngineConfig.render_target`); None when it need not render."""
        return self.config.render_target(voice.position_beats, self.playhead(), self.lookahead_beats(),
                                         voice.revision_pending)

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
        feeders: list[asyncio.Task[None]] = []
        self._started = self._now()
        with voice_threads(self.voices, self.config.switch_interval_s, self.config.render_priority,
                           self.config.loop_priority) as executors:
            try:
                prerolled = await asyncio.gather(*(
                    self._guarded(loop.run_in_executor(executors[v.name], self.decoding.render, v, self.config.preroll_beats), v)
                    for v in self.voices.values()))
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
                    self._tick()
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
            self._tick()
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
            notes = await self._guarded(loop.run_in_executor(executor, self.decoding.render, voice, target), voice)
            if notes is not None and not self._stopped:
                self._schedule(voice, notes)

    async def _guarded(self, rendering: asyncio.Future[list[NoteEvent]], voice: Voice) -> list[NoteEvent] | None:
        try:
            return await rendering
        except Exception as error:  # a failing voice is stopped; the show goes on
            self._fail(voice, error)
            return None

    def _render_guarded(self, voice: Voice, beat: float) -> list[NoteEvent]:
        try:
            return self.decoding.render(voice, beat)
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
            self.latency.rearm(voice.name, settled.void_from)
        now = self.show_time()
        self.scheduler.schedule(voice.name, voice.channel, settled.released, now)
        self.latency.match(voice.name, self.scheduler.schedule(voice.name, voice.channel, settled.fresh, now))

    def _finish(self, end: float) -> ShowReport:
        self.latency.settle(end)
        self.playing, self.ended = False, True
        self.applier.close()
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
            voice_lines=[f"{voice.name}: {line}" for voice in self.voices.values() if (line := voice.report_line())],
            by_voice=dict(self.scheduler.by_track),
            tokens_per_s=self.decoding.overall(),
            sender_scheduling=self.sender.scheduling,
        )
