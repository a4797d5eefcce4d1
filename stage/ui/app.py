"""The terminal UI: a Textual app that reads a show's snapshots and sends it commands, nothing else.

It polls `show.snapshot()` (`UiConfig.poll_hz` times a second), shows every command result the engine
publishes (its own and other surfaces'), and turns each key into a command (`intents.py`). It never
owns timing: the engine keeps time in its own thread whatever the screen does.

    app = StageApp(show, surfaces=[mqtt])
    await app.run_async()      # or: async with app.run_test() as pilot: ...
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from encore.engine.commands.groove import SetGroove
from encore.engine.commands.jump import Next, Previous
from encore.engine.commands.key import SetKey
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.record import Record
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic
from encore.engine.control import Command
from encore.engine.results import CommandResult
from encore.engine.snapshot import ShowSnapshot, VoiceSnapshot
from encore.engine.voices.soft_key import KEY_NAMES
from encore.stage.ui.config import UiConfig
from encore.stage.ui.intents import describe, last_bars_phrase, sampling_step, summary, tempo_step
from encore.stage.ui.panels import Health, KeyMap, Line, Outputs, Transport, Voices, song_line
from encore.stage.ui.piano_roll import PianoRoll
from encore.stage.ui.pickers import ChoiceScreen, ConfirmScreen, FileScreen, seed_files
from encore.stage.ui.tap_tempo import TapTempo

if TYPE_CHECKING:
    from encore.engine.show import Show
    from encore.engine.surfaces import Surface

BROWSE = "__browse__"
GROOVE_MODES = ("follow-piano", "library")
"""Modes the groove picker offers (`pattern` needs a pattern: MQTT and controllers send those)."""


class ResultPosted(Message):
    """A command result from the engine (posted from whichever thread resolved it)."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__()
        self.result = result


class LogPosted(Message):
    """A warning logged while the UI owns the terminal (a sink failed, a voice stopped, ...)."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class UiLogHandler(logging.Handler):
    """Sends log records to the app's status line instead of the terminal the app draws on."""

    def __init__(self, app: App[Any]) -> None:
        super().__init__(logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.app.post_message(LogPosted(" ".join(self.format(record).split())))
        except Exception:  # noqa: BLE001 - logging must never raise into the engine
            self.handleError(record)


class StageApp(App[None]):
    """What a performer sees and steers a show with.

    Args:
        show: The show (performed elsewhere in the same event loop, or in a test's).
        config: Steps, poll rate, bars.
        surfaces: Other surfaces whose `status()` is shown with the outputs (MQTT, MIDI controllers);
            a controller surface (one with `learn(control, voice)` and a `learner`,
            `encore.stage.controllers.surface.ControllerSurface`) enables learn mode.
        now: Clock for tap tempo.
    """

    CSS_PATH = "stage.tcss"
    TITLE = "encore"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("escape", "panic", "PANIC", priority=True),
        Binding("t", "sampling('temperature', -1)", "temp-"), Binding("T", "sampling('temperature', 1)", "temp+"),
        Binding("p", "sampling('top_p', -1)", "top-p-"), Binding("P", "sampling('top_p', 1)", "top-p+"),
        Binding("k", "choose_key", "key"),
        Binding("minus", "tempo(-1)", "tempo-"), Binding("plus,equals_sign", "tempo(1)", "tempo+"),
        Binding("space", "tap", "tap"),
        *(Binding(str(n), f"select({n - 1})", f"voice {n}", show=False) for n in range(1, 10)),
        Binding("m", "mute", "mute"), Binding("s", "solo", "solo"),
        Binding("e", "reseed_last_bars", "reseed"), Binding("o", "choose_seed", "seed"),
        Binding("g", "choose_groove", "groove"),
        Binding("n", "song(1)", "next"), Binding("b", "song(-1)", "previous"),
        Binding("r", "record", "record"), Binding("l", "learn", "learn"),
        Binding("q,ctrl+q,ctrl+c", "quit_show", "quit"),
    ]

    selected: reactive[int] = reactive(0)

    def __init__(self, show: Show, config: UiConfig | None = None, surfaces: Sequence[Surface] = (),
                 now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.show = show
        self.config = config or UiConfig()
        self.surfaces = list(surfaces)
        self.controller = next((s for s in self.surfaces if hasattr(s, "learn") and hasattr(s, "learner")), None)
        self.tapper = TapTempo(now, self.config.tap_reset_s)
        self.snapshot: ShowSnapshot = show.snapshot()
        self.status_text = "ready"
        self._learning: str | None = None
        self._tempo_asked: tuple[float, float] | None = None  # bpm, and the beat by which it sounds
        self._unsubscribe: Callable[[], None] | None = None
        self._polled = 0.0  # when `tick` last polled
        # The main screen's panels, kept so a poll reaches them while a modal screen is on top.
        self.song_panel, self.transport = Line(id="song"), Transport(id="transport")
        self.voices_panel, self.roll = Voices(id="voices"), PianoRoll(self.config.roll_bars, id="roll")
        self.outputs_panel, self.health = Outputs(id="outputs"), Health(id="health")
        self.status_line = Line(id="status")

    def compose(self) -> ComposeResult:
        yield from (self.song_panel, self.transport, self.voices_panel, self.roll, self.outputs_panel, self.health,
                    self.status_line)
        yield KeyMap(id="keys")

    def on_mount(self) -> None:
        # Everything alive now (the models, the app's widgets) moves out of the collector's reach: the
        # garbage every redraw makes triggers full collections, and a full collection over a loaded
        # model held the GIL for 300-400 ms, stalling the sender thread (benchmarks/bench_ui.py).
        gc.freeze()
        self._unsubscribe = self.show.engine.subscribe(lambda result: self.post_message(ResultPosted(result)))
        self.set_interval(1.0 / self.config.poll_hz, self.tick)
        self.poll()
        self.set_status(self.status_text)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # Reading ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """The poll timer: `poll`, or while a voice falls behind, at most `strained_poll_hz` times a second."""
        now = time.monotonic()
        if self.snapshot.strained and now - self._polled < 1.0 / self.config.strained_poll_hz:
            return
        self._polled = now
        self.poll()

    def poll(self) -> None:
        """Read a snapshot and redraw every panel from it."""
        snapshot = self.snapshot = self.show.snapshot()
        self.selected = min(self.selected, max(len(snapshot.voices) - 1, 0))
        self.song_panel.set(Text(song_line(snapshot), style="bold #ffffff"))
        self.transport.show(snapshot)
        self.voices_panel.show(snapshot, self.selected)
        self.roll.show(snapshot)
        self.outputs_panel.show([*snapshot.outputs, *(surface.status() for surface in self.surfaces)])
        self.health.show(snapshot)
        self._check_learning()

    def watch_selected(self) -> None:
        self.voices_panel.show(self.snapshot, self.selected)

    def set_status(self, line: str, style: str = "bold #ffffff") -> None:
        """Show `line` in the status line."""
        self.status_text = line
        self.status_line.set(Text(line, style=style, no_wrap=True, overflow="ellipsis"))

    def on_result_posted(self, message: ResultPosted) -> None:
        if isinstance(message.result.command, SetTempo) and not message.result.ok:
            self._tempo_asked = None
        self.set_status(describe(message.result), "bold #00ff5f" if message.result.ok else "bold #ff5f5f")
        self.poll()

    def on_log_posted(self, message: LogPosted) -> None:
        self.set_status(f"! {message.line}", "bold #ffaf00")

    # Sending ------------------------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Submit `command`; its result reaches the status line through the engine's subscription."""
        self.set_status(f"… {summary(command)}", "#d0d0d0")
        self.show.submit(command)

    def voice(self) -> VoiceSnapshot | None:
        """The selected voice in a fresh snapshot (None for a show without voices)."""
        voices = self.show.snapshot().voices
        return voices[min(self.selected, len(voices) - 1)] if voices else None

    def action_panic(self) -> None:
        self.send(Panic())

    def action_sampling(self, field: str, direction: int) -> None:
        if (voice := self.voice()) is not None:
            step = self.config.temperature_step if field == "temperature" else self.config.top_p_step
            self.send(sampling_step(voice, field, direction * step))

    def action_tempo(self, direction: int) -> None:
        snapshot = self.show.snapshot()
        asked = self._tempo_asked
        base = asked[0] if asked is not None and snapshot.beats < asked[1] else snapshot.tempo_bpm
        self.send_tempo(tempo_step(base, direction * self.config.tempo_step_bpm))

    def action_tap(self) -> None:
        bpm = self.tapper.tap()
        if bpm is None:
            self.set_status(f"tap {self.tapper.count}: keep tapping (space) on the beat", "#d0d0d0")
        else:
            self.send_tempo(SetTempo(bpm))

    def send_tempo(self, command: SetTempo) -> None:
        """Send a tempo change; until it sounds (at the next beat) the next tempo key steps from it."""
        self._tempo_asked = (command.bpm, self.show.snapshot().beats + 1.0)
        self.send(command)

    def action_select(self, index: int) -> None:
        count = len(self.snapshot.voices)
        if index < count:
            self.selected = index
            self.set_status(f"voice {index + 1}: {self.snapshot.voices[index].name}")
        else:
            self.set_status(f"no voice {index + 1} (this show has {count})", "bold #ffaf00")

    def action_mute(self) -> None:
        if (voice := self.voice()) is not None:
            self.send(Mute(voice.name, not voice.muted))

    def action_solo(self) -> None:
        if (voice := self.voice()) is not None:
            self.send(Solo(voice.name, not voice.soloed))

    def action_song(self, step: int) -> None:
        self.send(Next() if step > 0 else Previous())

    def action_record(self) -> None:
        recording = any(o.kind == "recorder" and o.state == "open" for o in self.show.snapshot().outputs)
        self.send(Record(not recording))

    def action_reseed_last_bars(self) -> None:
        snapshot = self.show.snapshot()
        voice = self.voice()
        if voice is None:
            return
        bars = self.config.reseed_bars
        phrase = last_bars_phrase(snapshot, voice, bars)
        if not phrase:
            self.set_status(f"re-seed: {voice.name} played nothing in the {bars} bars before this one", "bold #ffaf00")
            return
        self.send(Reseed(phrase, voice.name))

    def action_choose_seed(self) -> None:
        voice = self.voice()
        if voice is None:
            return
        folder = self.show.seeds_folder
        choices = [(str(path), path.name) for path in seed_files(folder)] + [(BROWSE, "browse files…")]

        def chosen(choice: str | None) -> None:
            if choice == BROWSE:
                self.push_screen(FileScreen(f"seed file for {voice.name}", folder or Path.cwd()),
                                 lambda path: self.send(Reseed(path, voice.name)) if path is not None else None)
            elif choice is not None:
                self.send(Reseed(Path(choice), voice.name))

        self.push_screen(ChoiceScreen(f"seed for {voice.name} (from its next bar line)", choices), chosen)

    def action_choose_groove(self) -> None:
        drums = next((voice for voice in self.snapshot.voices if voice.mode is not None), None)  # a drum voice
        if drums is None:
            self.set_status("this show has no drums: no groove to choose", "bold #ffaf00")
            return
        from encore.models.groove.library import load_library

        library = load_library()
        styles = sorted({groove.style for groove in library.values()})
        choices = ([(f"mode:{mode}", f"mode: {mode}") for mode in GROOVE_MODES]
                   + [(f"groove:{style}", f"style: {style}") for style in styles]
                   + [(f"groove:{name}", f"groove: {name}") for name in sorted(library)])

        def chosen(choice: str | None) -> None:
            if choice is None:
                return
            kind, _, value = choice.partition(":")
            self.send(SetGroove(mode=value, voice=drums.name) if kind == "mode"
                      else SetGroove(mode="library", groove=value, voice=drums.name))

        self.push_screen(ChoiceScreen(f"groove for {drums.name} (now {drums.groove}, {drums.mode})", choices), chosen)

    def action_choose_key(self) -> None:
        piano = next((voice for voice in self.snapshot.voices if voice.key is not None), None)  # a piano voice
        if piano is None:
            self.set_status("this show has no piano: no key to lean to", "bold #ffaf00")
            return
        choices = [(name, name) for name in KEY_NAMES]
        self.push_screen(ChoiceScreen(f"key for {piano.name}: pitches outside it grow rarer (now {piano.key})", choices),
                         lambda key: self.send(SetKey(key, voice=piano.name)) if key is not None else None)

    def action_learn(self) -> None:
        controller = self.controller
        if controller is None:
            self.set_status("learn mode needs a MIDI controller: start with --midi-in PORT", "bold #ffaf00")
            return
        if controller.learner.waiting is not None:
            controller.learner.cancel()
            self._learning = None
            self.set_status("learn mode: cancelled")
            return
        from encore.stage.controllers.controls import CONTROLS

        voice = self.voice()

        def chosen(control: str | None) -> None:
            if control is None:
                return
            target = controller.learn(control, voice.name if voice is not None else None)
            self._learning = target.label()
            self.set_status(f"learn mode: move a knob or press a key for {self._learning} (l cancels)", "bold #ffd700")

        choices = [(name, f"{name}: {spec.help}") for name, spec in CONTROLS.items()]
        self.push_screen(ChoiceScreen("learn: the control a knob or key will drive", choices), chosen)

    def _check_learning(self) -> None:
        learner = self.controller.learner if self.controller is not None else None
        if self._learning is not None and learner is not None and learner.waiting is None:
            learned = learner.learned
            if learned is not None:
                self.set_status(f"learned: {learned.source.label()} drives {learned.label()}", "bold #00ff5f")
            self._learning = None

    def action_quit_show(self) -> None:
        if not self.show.snapshot().playing:
            self.stop_and_exit()
            return
        self.push_screen(ConfirmScreen("The set is playing. Stop the show and quit?"),
                         lambda yes: self.stop_and_exit() if yes else self.set_status("quit: cancelled, playing on"))

    def stop_and_exit(self) -> None:
        """Stop the show (every note released, the recording closed by the engine) and leave the UI."""
        self.show.stop()
        self.exit()
