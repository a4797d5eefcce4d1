"""The controller surface (`--midi-in`): knobs, pads and keys drive a show through its commands.

The surface polls the input in the event loop (`MidiInput.read`, every `POLL_S`) and reads what came
in batches: learn mode first (`Learner`), then the mapping (each gesture on a
binding becomes a wire command, `encore.engine.wire.from_dict`, sent with `show.submit`; a knob's
burst of values in one batch sends its last value only), and notes no binding takes go to the
performer input and phrase capture. Every command's result (applied, or rejected and why), every
learned binding and every phrase is reported: `reports` keeps the recent ones, `subscribe` posts
them, and `status()` shows the last. A vanished input port is reported and waited for; the show goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from encore.engine.control import CommandError
from encore.engine.midi_reading import POLL_S
from encore.engine.results import CommandResult, Rejected
from encore.engine.sinks.base import SinkStatus
from encore.engine.wire import from_dict, to_dict
from encore.models.errors import EncoreError
from encore.stage.controllers.controls import CONTROLS, Gesture, Turn, command_for
from encore.stage.controllers.gestures import GestureReader
from encore.stage.controllers.learn import Learner, LearnTarget
from encore.stage.controllers.mapping import Binding, ControllerMap, save_mapping
from encore.stage.controllers.messages import parse
from encore.stage.controllers.midi_input import MidiInput
from encore.stage.controllers.performer import PerformerInput, PlayedNote, ShowClock
from encore.stage.controllers.performing import PerformerRelay
from encore.stage.controllers.phrase import PhraseCapture, phrase_notes

if TYPE_CHECKING:
    from encore.engine.show import Show
    from encore.engine.snapshot import ShowSnapshot

log = logging.getLogger(__name__)

TICK_S = 0.05
"""How often the surface looks at phrase silence."""
PORT_CHECK_S = 0.5
"""How often it looks for a vanished input port."""
RECENT_REPORTS = 64


@dataclass(frozen=True)
class ControlReport:
    """One thing the surface did, for a screen: `CC 70 -> temperature (piano) 0.73: applied`.

    Attributes:
        text: One line.
        ok: False for a rejected command, a dropped phrase or a port problem.
    """

    text: str
    ok: bool = True


class ControllerSurface:
    """A MIDI controller and keyboard as a `Surface` (`encore.engine.surfaces`).

    Args:
        midi_input: The input port (already open; `run` listens to it and closes it at the end).
        mapping: The bindings and capture settings to start with.
        mapping_path: Where learned bindings are saved (None: kept for this show only).
        now: The clock messages are stamped with (the one `midi_input` uses).
    """

    name = "midi-in"

    def __init__(self, midi_input: MidiInput, mapping: ControllerMap, mapping_path: Path | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.input = midi_input
        self.mapping = mapping
        self.mapping_path = mapping_path
        self.learner = Learner()
        self.performer = PerformerInput()
        self.clock = ShowClock()
        self.capture = PhraseCapture(mapping.capture)
        self.reports: deque[ControlReport] = deque(maxlen=RECENT_REPORTS)
        self.last_phrase: list[list[float]] | None = None
        self._now = now
        self._gestures = GestureReader()
        self._last_sent: dict[Binding, dict[str, Any]] = {}
        self._subscribers: list[Callable[[ControlReport], None]] = []
        self._show: Show | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.performer.subscribe(self.capture.add)
        self.relay = PerformerRelay(self._relay_rejected)  # notes and the pedal to the show's performer modes

    def status(self) -> SinkStatus:
        """The port (open, vanished, closed), learn mode, capture, and the last report."""
        parts = [self.input.detail()]
        if self.learner.waiting is not None:
            parts.append(f"learning {self.learner.waiting.label()}: move a knob or press a key")
        if self.capture.state != "idle":
            parts.append(f"capture {self.capture.state} ({self.capture.notes} notes)")
        if self.reports:
            parts.append(self.reports[-1].text)
        return SinkStatus(self.name, "controller", self.input.state, "; ".join(parts))

    def subscribe(self, callback: Callable[[ControlReport], None]) -> Callable[[], None]:
        """Call `callback(report)` (in the event loop) for every report from now on; returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def learn(self, control: str, voice: str | None = None) -> LearnTarget:
        """Learn mode: the next CC or note-on received drives `control` (call from the event loop).

        Raises:
            ValueError: for an unknown control.
        """
        spec = CONTROLS.get(control)
        default = spec.voice if spec is not None else None
        wanted = (voice if spec is not None and spec.takes_voice else None) or default
        like = next((b for b in self.mapping.bindings if b.control == control and (b.voice or default) == wanted), None)
        return self.learner.start(control, voice, like)

    async def run(self, show: Show) -> None:
        """Read the input and drive `show` until cancelled; the input is closed at the end."""
        self._show, self._loop = show, asyncio.get_running_loop()
        if show.offline:
            self._report("the show renders offline, faster than real time: play it with --realtime "
                         "for live input to follow the music", ok=False)
        next_tick, next_check = self._now() + TICK_S, self._now() + PORT_CHECK_S
        try:
            while True:
                batch = self.input.read()
                if batch:
                    self._handle_safely(batch)
                if self._now() >= next_tick:
                    next_tick = self._now() + TICK_S
                    self._tick()
                if self._now() >= next_check:
                    next_check = self._now() + PORT_CHECK_S
                    await self._check_port()
                await asyncio.sleep(POLL_S)
        finally:
            self.input.close()

    def _handle_safely(self, batch: list[tuple[list[int], float]]) -> None:
        try:
            self._handle(batch)
        except Exception as error:  # noqa: BLE001 - one bad message must not silence the controller
            log.exception("controller input failed")
            self._report(f"controller: {len(batch)} messages ignored: {type(error).__name__}: {error}", ok=False)

    def _handle(self, batch: list[tuple[list[int], float]]) -> None:
        """Act on a batch of raw messages with their arrival times (the event loop's side of `run`)."""
        snapshot = self._observe()
        gestures: list[tuple[Binding, Gesture]] = []
        for data, at in batch:
            message = parse(data)
            if message is None:
                continue
            learned = self.learner.offer(message)
            if learned is not None:
                self._learned(learned)
                continue
            bound = self.mapping.bound(message)
            if bound:
                gestures += self._gestures.read(message, bound)
            elif message.is_note and self.mapping.capture.channel in (None, message.channel):
                self.performer.feed(message, self.clock.position(at))
                self.relay.offer(self._require_show(), message, self.clock.position(at))
            elif not message.is_note:  # an unbound CC: the pedal, if it is one
                self.relay.offer(self._require_show(), message, self.clock.position(at))
        for binding, gesture in _last_turns(gestures):
            if CONTROLS[binding.control].kind == "local":
                self._finish_phrase(self.capture.press(self.clock.position(self._now()).seconds), snapshot)
            else:
                self._send(binding, gesture, snapshot)

    def _send(self, binding: Binding, gesture: Gesture, snapshot: ShowSnapshot) -> None:
        show = self._require_show()
        data = command_for(binding, gesture, snapshot, self.last_phrase)
        if data is None:
            self._report(f"{binding.source.label()} -> {binding.label()}: nothing to send", ok=False)
            return
        if isinstance(gesture, Turn) and self._last_sent.get(binding) == data:
            return  # a knob moved within one step of the value already sent
        self._last_sent[binding] = data
        self._submit(show, data, f"{binding.source.label()} -> {binding.label()}")

    def _submit(self, show: Show, data: dict[str, Any], what: str) -> None:
        try:
            command = from_dict(data, show.seeds_folder)
        except CommandError as error:
            self._report(f"{what}: rejected: {error}", ok=False)
            return
        ticket = show.submit(command)
        loop = self._loop
        assert loop is not None

        def resolved(result: CommandResult) -> None:  # whichever thread resolved it
            try:
                loop.call_soon_threadsafe(self._result, what, result)
            except RuntimeError:
                pass

        ticket.add_done_callback(resolved)

    def _result(self, what: str, result: CommandResult) -> None:
        fields = {k: v for k, v in to_dict(result.command).items() if k not in ("command", "voice", "seed")}
        shown = " ".join(f"{value}" for value in fields.values())
        head = f"{what} {shown}".rstrip()
        if isinstance(result, Rejected):  # the engine has logged it already
            self._report(f"{head}: rejected: {result.reason}", ok=False, level=logging.INFO)
        else:
            self._report(f"{head}: applied")

    def _relay_rejected(self, reason: str) -> None:
        """A performer's note or pedal was rejected (any thread): reported in the event loop."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the show is over
                self._loop.call_soon_threadsafe(self._report, f"performer: rejected: {reason}", False)

    def _tick(self) -> None:
        """End a phrase after its silence (the clock is read only while a phrase is recording)."""
        if self.capture.state != "recording" or self._show is None:
            return
        snapshot = self._observe()
        now = self.clock.position(self._now()).seconds
        self._finish_phrase(self.capture.tick(now, self.performer.quiet_since), snapshot)

    def _finish_phrase(self, played: tuple[PlayedNote, ...] | None, snapshot: ShowSnapshot) -> None:
        """Send a finished phrase as the capture voice's next seed (one too short is dropped, and said so)."""
        if played is None:
            return
        if len(played) < self.mapping.capture.min_notes:
            self._report(f"phrase dropped: {len(played)} notes, fewer than min_notes = "
                         f"{self.mapping.capture.min_notes}", ok=False)
            return
        numerator, denominator = snapshot.time_signature
        notes = phrase_notes(played, numerator * 4.0 / denominator)
        self.last_phrase = [[n.onset_beats, n.pitch, n.velocity, n.duration_beats] for n in notes]
        data = {"command": "reseed", "voice": self.mapping.capture.voice, "seed": self.last_phrase}
        self._submit(self._require_show(), data, f"phrase of {len(notes)} notes -> reseed ({self.mapping.capture.voice})")

    def _learned(self, binding: Binding) -> None:
        self.mapping = self.mapping.with_binding(binding)
        self._last_sent.clear()
        text = f"learned {binding.source.label()} -> {binding.label()}"
        if self.mapping_path is not None:
            try:
                save_mapping(self.mapping, self.mapping_path)
                text += f" (saved to {self.mapping_path})"
            except EncoreError as error:
                self._report(f"{text}; not saved: {error}", ok=False)
                return
        self._report(text)

    async def _check_port(self) -> None:
        """Look for the port in a worker thread (opening a JACK client can take a while on a busy machine)."""
        if not await asyncio.to_thread(self.input.check):
            return
        if self.input.state == "vanished":
            self._observe()
            self.performer.release_all(self.clock.position(self._now()))
            self._report(f"MIDI input {self.input.port} vanished: waiting for it (the show plays on)", ok=False,
                         level=logging.INFO)  # `MidiInput.check` has logged it already
        else:
            self._report(f"MIDI input {self.input.port} is back")

    def _observe(self) -> ShowSnapshot:
        """A snapshot of the show, given to the clock with the readings around it."""
        before = self._now()
        snapshot = self._require_show().snapshot()
        self.clock.observe(snapshot, before, self._now())
        return snapshot

    def _report(self, text: str, ok: bool = True, level: int | None = None) -> None:
        """Keep and post a report; log it (INFO, or WARNING when not ok unless `level` says otherwise)."""
        report = ControlReport(text, ok)
        self.reports.append(report)
        log.log(level if level is not None else logging.INFO if ok else logging.WARNING, "%s", text)
        for callback in list(self._subscribers):
            try:
                callback(report)
            except Exception as error:  # noqa: BLE001 - a screen's bug must not stop the controller
                log.warning("controller report subscriber failed: %s", error)

    def _require_show(self) -> Show:
        if self._show is None:
            raise RuntimeError("the controller surface is not running")
        return self._show


def _last_turns(gestures: list[tuple[Binding, Gesture]]) -> list[tuple[Binding, Gesture]]:
    """`gestures` with each binding's knob turns reduced to its last (presses all kept), in order."""
    seen: set[Binding] = set()
    kept = []
    for binding, gesture in reversed(gestures):
        if isinstance(gesture, Turn):
            if binding in seen:
                continue
            seen.add(binding)
        kept.append((binding, gesture))
    return kept[::-1]
