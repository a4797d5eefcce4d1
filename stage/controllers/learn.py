"""Learn mode, apart from any screen: choose a control, move a knob, and that knob drives the control.

The terminal UI (or any other front end) drives a `Learner`: `start("temperature")`, then the
controller surface offers it each message; the first control change or note-on received becomes a
`Binding` (on that message's channel), which the surface puts in its mapping with
`ControllerMap.with_binding` (the knob drives that control only, and the control that knob only) and
saves. Note-offs are ignored, so releasing the pad pressed before learning binds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from encore.stage.controllers.controls import CONTROLS
from encore.stage.controllers.mapping import Binding, Source
from encore.stage.controllers.messages import ControllerMessage


@dataclass(frozen=True)
class LearnTarget:
    """The control being learned: a binding still without its source (its voice and range settings kept)."""

    template: Binding

    def label(self) -> str:
        """`temperature (piano)`: the control and the voice it drives."""
        return self.template.label()


class Learner:
    """The learn-mode state machine: idle, or waiting for a CC or note to bind to one control.

    Used from one thread (the controller surface's event loop, where a Textual app also runs).
    """

    def __init__(self) -> None:
        self._waiting: LearnTarget | None = None
        self.learned: Binding | None = None

    @property
    def waiting(self) -> LearnTarget | None:
        """The control waiting for a knob or key, None when idle."""
        return self._waiting

    def start(self, control: str, voice: str | None = None, like: Binding | None = None) -> LearnTarget:
        """Wait for the next CC or note-on to bind to `control` (for `voice`).

        Args:
            control: A name in `CONTROLS`.
            voice: The voice it drives (None: the control's default); ignored by controls without one.
            like: A binding whose settings (range, choices, seed) the new one keeps, e.g. the control's
                binding so far.

        Raises:
            ValueError: for an unknown control, naming the known ones.
        """
        spec = CONTROLS.get(control)
        if spec is None:
            raise ValueError(f"unknown control {control!r} (controls: {', '.join(CONTROLS)})")
        placeholder = Source("cc", 0)
        template = replace(like or Binding(placeholder, control), source=placeholder, control=control)
        if voice is not None and spec.takes_voice:
            template = replace(template, voice=voice)
        self._waiting = LearnTarget(template)
        return self._waiting

    def cancel(self) -> None:
        """Stop waiting; nothing is bound."""
        self._waiting = None

    def offer(self, message: ControllerMessage) -> Binding | None:
        """If waiting and `message` is a CC or a note-on, the binding it makes (and back to idle); else None."""
        if self._waiting is None or message.kind == "note_off":
            return None
        source = Source("cc" if message.kind == "cc" else "note", message.number, message.channel)
        self.learned = replace(self._waiting.template, source=source)
        self._waiting = None
        return self.learned
