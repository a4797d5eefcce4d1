"""The drum voice: the groove VAE plays two-bar windows on the GM drum channel, with real microtiming.

The voice renders a whole window (two 4/4 bars, 32 sixteenths) at a time, from beat 0 on, so while
one window sounds the next is decoded. What it plays is a `DrumPart`, switched live by
`SetGroove` (`DrumVoice.set_part`); a switch is picked up at the next window boundary rendered:

| mode           | input to the model                                          | decode                    |
| -------------- | ----------------------------------------------------------- | ------------------------- |
| `library`      | a named GMD groove (`encore.models.groove.library`)                | `drumify(groove)`         |
| `pattern`      | a score for some drums: `{"kick": [0, 8, ...]}` (16th steps) | see below                 |
| `follow-piano` | the piano's onsets in the last two bars it rendered, tapped | `drumify(tapped groove)`, |
|                |                                                             | locked to the tap         |

In `pattern` mode the 11-input model (`aux11`) gets one input per drum named (an empty list means
"do not play it") and draws the others from the prior; the 2-input models humanize the score as given
(drums not named are not played; a window with no hits rests). A library groove named in the part is
given too where the model takes one. In `follow-piano` mode the drums strike only on the 16th steps
the piano struck (`GrooveModel.drumify(..., lock_to_groove=True)`): the model picks the drums, their
velocities and timing, and may leave a step out. Unlocked, the score latent drawn from the prior decides
where the hits go, and the drums answer a syncopated figure with a straight beat (docs/groove.md,
"Following the piano"). Two bars with no piano onset fall back to the part's library groove, unlocked.

Revisions: the voice rewinds to any beat by decoding the window that holds it again (with the part
asked for last) and keeping its hits from that beat on; a window decodes in about 10 ms, and window
`k` always uses latent seed `seed + k`, so re-rendering a window with the same part plays the same hits.

Microtiming: each hit sounds at `window start + (step + offset) / 4` beats, the model's offset in
[-1, 1] sixteenths; an early hit on a window's first step is clamped to the window start (a window
never reaches into the one already queued). Velocities are the model's. Notes last half a sixteenth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from encore.engine.voices.base import Seed, Voice
from encore.engine.voices.note_tap import NoteTap
from encore.models.groove.drum_map import DRUM_CHANNEL, DRUM_NAMES, NUM_DRUMS
from encore.models.groove.grid import STEPS_PER_BAR, STEPS_PER_BEAT, WINDOW_STEPS, DrumLoop, loop_events
from encore.models.groove.library import NamedGroove
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

if TYPE_CHECKING:
    from encore.models.groove.model import GrooveModel

log = logging.getLogger(__name__)

MODES = ("library", "pattern", "follow-piano")
WINDOW_BEATS = WINDOW_STEPS / STEPS_PER_BEAT
BAR_BEATS = STEPS_PER_BAR / STEPS_PER_BEAT
DEFAULT_GROOVE = "rock"


@dataclass(frozen=True)
class DrumPart:
    """What the drum voice plays.

    Attributes:
        mode: `library`, `pattern` or `follow-piano` (see the module docstring).
        groove: A library groove: a name such as `funk-102`, or a style (`funk`: the style's groove
            nearest the voice's tempo). Played in `library` mode, the fallback of `follow-piano`,
            given with the score in `pattern` mode where the model takes a groove.
        pattern: Drum name (`encore.models.groove.drum_map.DRUM_NAMES`) to the 16th steps (0-31) it strikes.
    """

    mode: str = "library"
    groove: str = DEFAULT_GROOVE
    pattern: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name, steps in self.pattern.items():
            if name not in DRUM_NAMES:
                raise ValueError(f"pattern.{name}: unknown drum; drums are {', '.join(DRUM_NAMES)}")
            if any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < WINDOW_STEPS for s in steps):
                raise ValueError(f"pattern.{name}: steps must be integers 0-{WINDOW_STEPS - 1}")
        frozen = {name: tuple(sorted(set(steps))) for name, steps in self.pattern.items()}
        object.__setattr__(self, "pattern", MappingProxyType(frozen))


@dataclass(frozen=True)
class DrumReading:
    """What the model was given for one window and how it read it (for a UI).

    Attributes:
        window_beat: Show beat the window starts at.
        mode: The part's mode.
        inputs: The model inputs by name, each (32, channels).
        read_back: The auxiliary decoders' reading of each input (`GrooveModel.read_back`), or None
            for models without auxiliary decoders (baseline, factorized).
    """

    window_beat: float
    mode: str
    inputs: Mapping[str, np.ndarray]
    read_back: Mapping[str, np.ndarray] | None


def find_groove(library: Mapping[str, NamedGroove], key: str, bpm: float) -> NamedGroove:
    """A library groove by name, or the groove of style `key` whose tempo is nearest `bpm`.

    Raises:
        ValueError: if no groove has that name or style.
    """
    if key in library:
        return library[key]
    styled = [groove for groove in library.values() if groove.style == key]
    if not styled:
        styles = sorted({groove.style for groove in library.values()})
        raise ValueError(f"groove: {key!r} is neither a library groove nor a style ({', '.join(styles)})")
    return min(styled, key=lambda groove: (abs(groove.bpm - bpm), groove.name))


def pattern_score(pattern: Mapping[str, Sequence[int]]) -> np.ndarray:
    """A (32, 9) score with a hit at each named drum's steps."""
    score = np.zeros((WINDOW_STEPS, NUM_DRUMS), np.float32)
    for name, steps in pattern.items():
        score[list(steps), DRUM_NAMES.index(name)] = 1.0
    return score


def tap_groove(notes: Iterable[NoteEvent], start: float) -> np.ndarray:
    """The (32, 3) groove (hit, velocity, offset) of onsets tapped in the two bars from `start`.

    Like the model's groove input function: each onset goes to its nearest 16th step, and a step keeps
    the velocity (MIDI / 127) and offset (in sixteenths) of its loudest onset.
    """
    groove = np.zeros((WINDOW_STEPS, 3), np.float32)
    for note in notes:
        position = (note.onset_beats - start) * STEPS_PER_BEAT
        step = round(position)
        velocity = note.velocity / 127
        if 0 <= step < WINDOW_STEPS and velocity > groove[step, 1]:
            groove[step] = (1.0, velocity, position - step)
    return groove


def window_notes(loop: DrumLoop, start: float) -> list[NoteEvent]:
    """A decoded window's hits as notes from show beat `start` (GM pitches, offsets as real time)."""
    return [replace(note, onset_beats=start + note.onset_beats) for note in loop_events(loop)]


class DrumVoice(Voice):
    """The groove VAE as a voice: a two-bar window at a time, on the General MIDI drum channel.

    Args:
        model: A loaded groove model.
        library: Named grooves (`encore.models.groove.library.load_library()`).
        part: What to play first.
        follow: The tap of the voice to follow in `follow-piano` mode (the piano's `tap`).
        bpm: Tempo that picks a style's groove from the library.
        name: Track name.
        channel: MIDI channel, 0-based (9 is General MIDI channel 10).
        program: Drum kit (General MIDI program on the drum channel; 0 is the standard kit).
        sampling: Its `temperature` scales the latent standard deviation; the other settings are not used.
        seed: Window `k` is decoded with latent seed `seed + k`, so a show is reproducible.

    Raises:
        ValueError: for a part the model or the library cannot play.
    """

    revisable = True

    def __init__(
        self,
        model: GrooveModel,
        library: Mapping[str, NamedGroove],
        part: DrumPart | None = None,
        follow: NoteTap | None = None,
        bpm: float = 120.0,
        name: str = "drums",
        channel: int = DRUM_CHANNEL,
        program: int = 0,
        sampling: SamplingConfig | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(name, channel, program, sampling)
        self.model = model
        self.library = library
        self.follow = follow
        self.bpm = bpm
        self.seed = seed
        self.reading: DrumReading | None = None
        self._requested = self._checked(part or DrumPart())
        self._part = self._requested
        self._position = 0.0

    @property
    def part(self) -> DrumPart:
        """The part asked for last (it sounds from the next window rendered)."""
        return self._requested

    @property
    def position_beats(self) -> float:
        """Show beat rendered up to: the start of the next window, or a beat inside one after a rewind."""
        return self._position

    def check_part(self, mode: str | None = None, groove: str | None = None,
                   pattern: Mapping[str, Sequence[int]] | None = None) -> DrumPart:
        """The part `set_part` would switch to, checked; nothing changes (the engine's check up front).

        Raises:
            ValueError: for an unknown mode, groove or drum, or a mode the model cannot play.
        """
        changes = {key: value for key, value in (("mode", mode), ("groove", groove), ("pattern", pattern))
                   if value is not None}
        return self._checked(replace(self._requested, **changes))

    def set_part(self, mode: str | None = None, groove: str | None = None,
                 pattern: Mapping[str, Sequence[int]] | None = None) -> DrumPart:
        """Switch at the next window boundary rendered; None keeps a field as it is. Thread-safe.

        Raises:
            ValueError: for an unknown mode, groove or drum, or a mode the model cannot play.
        """
        part = self.check_part(mode, groove, pattern)
        self._requested = part  # one attribute swap: the worker picks it up at its next window
        return part

    def reprime(self, seed: Seed, at_beat: float) -> None:
        """Drums take no seed.

        Raises:
            ValueError: always; switch the drums with `SetGroove`.
        """
        raise ValueError(f"voice {self.name} takes no seed; send SetGroove")

    def render_until(self, beat: float) -> list[NoteEvent]:
        """Decode windows until `position_beats >= beat` (a window entered after a rewind: its hits from
        `position_beats` on)."""
        notes: list[NoteEvent] = []
        while self._position < beat:
            self._part = self._requested
            start = self._position // WINDOW_BEATS * WINDOW_BEATS
            loop = self._decode(self._part, start)
            if loop is not None:
                notes.extend(note for note in window_notes(loop, start) if note.onset_beats >= self._position)
            self._position = start + WINDOW_BEATS
        return notes

    def rewind(self, beat: float) -> float | None:
        """Render again from `beat` (if rendered past it), with the part asked for last."""
        if beat >= self._position:
            return None
        self._position = beat
        return beat

    def _checked(self, part: DrumPart) -> DrumPart:
        find_groove(self.library, part.groove, self.bpm)
        takes_groove = "groove" in self.model.input_names
        if part.mode != "pattern" and not takes_groove:
            raise ValueError(f"mode: model {self.model.kind!r} takes no groove; use pattern mode or another model")
        if part.mode == "follow-piano" and self.follow is None:
            raise ValueError("mode: follow-piano needs the piano's tap (no piano in this show)")
        return part

    def _decode(self, part: DrumPart, start: float) -> DrumLoop | None:
        model, temperature = self.model, self.sampling.temperature
        seed = self.seed + int(start // WINDOW_BEATS)
        groove = find_groove(self.library, part.groove, self.bpm).groove
        inputs: dict[str, np.ndarray]
        if part.mode == "pattern":
            inputs = self._pattern_inputs(part, groove)
            if "score" in model.input_names:
                if not inputs["score"].any():
                    loop = None
                else:
                    loop = model.humanize(inputs["score"], inputs.get("groove"), temperature, seed=seed)[0]
            else:
                loop = model.generate(inputs, temperature, seed=seed)[0]
        else:
            locked = False
            if part.mode == "follow-piano":
                tapped = self._tapped(start)
                if tapped[:, 0].any():
                    groove, locked = tapped, True
            inputs = {"groove": groove}
            loop = model.drumify(groove, temperature, seed=seed, lock_to_groove=locked)[0]
        read_back = model.read_back(inputs) if model.config.has_aux else None
        self.reading = DrumReading(start, part.mode, inputs, read_back)
        return loop

    def _pattern_inputs(self, part: DrumPart, groove: np.ndarray) -> dict[str, np.ndarray]:
        score = pattern_score(part.pattern)
        if "score" in self.model.input_names:
            inputs = {"score": score}
        else:
            inputs = {name: score[:, i : i + 1] for i, name in enumerate(DRUM_NAMES) if name in part.pattern}
        if "groove" in self.model.input_names:
            inputs["groove"] = groove
        return inputs

    def _tapped(self, start: float) -> np.ndarray:
        """The groove of the last two whole bars the followed voice rendered before `start`."""
        if self.follow is None:
            return np.zeros((WINDOW_STEPS, 3), np.float32)
        rendered = min(start, self.follow.position_beats // BAR_BEATS * BAR_BEATS)
        return tap_groove(self.follow.read(rendered - WINDOW_BEATS, rendered), rendered - WINDOW_BEATS)
