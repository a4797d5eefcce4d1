"""The drum grid: two bars of 16th notes by 9 drum classes, and MIDI converted to and from it.

A drum loop is three arrays of shape (steps, 9), one row per 16th note and one column per drum class
(see `encore.models.groove.drum_map`):

- `hits`: 1.0 where the drum is struck on that step, else 0.0;
- `velocities`: MIDI velocity / 127 where hit, else 0.0;
- `offsets`: where hit, the onset's distance from its grid step as a fraction of one step (late positive,
  early negative). Notes are snapped to the nearest step, so read offsets lie in [-0.5, 0.5]; the model's
  outputs may use the whole of [-1, 1] (one step either way), as in Magenta's GrooVAE.

Two notes of one class on one step keep the louder one. Ticks are converted on the beat grid of the file
(its `ticks_per_beat`), so a file with tempo changes is still read in musical time.
"""

from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np

from encore.models.errors import EncoreError
from encore.models.groove.drum_map import CLASS_OUTPUT_PITCHES, DRUM_CHANNEL, NUM_DRUMS, drum_class
from encore.models.notes import NoteEvent

#: 16th notes per quarter-note beat.
STEPS_PER_BEAT = 4
#: 16th notes per 4/4 bar.
STEPS_PER_BAR = 16
#: Length of one model window: two bars.
WINDOW_STEPS = 32
#: Hop between training windows: one bar.
HOP_STEPS = 16
#: Length of written notes, in steps (drums ignore note-off, but MIDI needs one).
OUTPUT_NOTE_STEPS = 0.5


class GrooveInputError(EncoreError):
    """A MIDI file that cannot serve as a drum score, a groove or a tap."""


@dataclass(frozen=True, slots=True)
class DrumLoop:
    """A drum performance on the 16th-note grid.

    Attributes:
        hits: (steps, 9) array of 0/1.
        velocities: (steps, 9) array in [0, 1].
        offsets: (steps, 9) array in [-1, 1], in steps.
    """

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    @property
    def steps(self) -> int:
        """Number of 16th-note steps."""
        return int(self.hits.shape[0])

    def window(self, start: int, length: int = WINDOW_STEPS) -> DrumLoop:
        """The steps `start`..`start + length`, zero-padded past the end."""
        arrays = []
        for array in (self.hits, self.velocities, self.offsets):
            part = array[start : start + length]
            pad = length - part.shape[0]
            arrays.append(np.pad(part, ((0, pad), (0, 0))) if pad > 0 else part)
        return DrumLoop(*arrays)


@dataclass(frozen=True, slots=True)
class Onset:
    """One struck note: absolute tick, MIDI pitch, velocity and MIDI channel (0-based)."""

    tick: int
    pitch: int
    velocity: int
    channel: int


def read_midi(path: str) -> mido.MidiFile:
    """Open a MIDI file, turning every read failure into a one-line `GrooveInputError`."""
    try:
        return mido.MidiFile(path)
    except FileNotFoundError as error:
        raise GrooveInputError(f"{path}: no such file") from error
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise GrooveInputError(f"{path}: not a readable MIDI file ({error or type(error).__name__})") from error


def check_four_four(midi: mido.MidiFile, name: str) -> None:
    """Raise `GrooveInputError` unless every time signature in the file is 4/4 (none means 4/4)."""
    for track in midi.tracks:
        for message in track:
            if message.type == "time_signature" and (message.numerator, message.denominator) != (4, 4):
                raise GrooveInputError(
                    f"{name}: time signature {message.numerator}/{message.denominator}; "
                    "the groove models play 4/4 only"
                )


def onsets(midi: mido.MidiFile) -> list[Onset]:
    """Every note-on with velocity > 0, merged over tracks and sorted by tick."""
    found: list[Onset] = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                found.append(Onset(tick, message.note, message.velocity, message.channel))
    found.sort(key=lambda onset: onset.tick)
    return found


def first_tempo(midi: mido.MidiFile) -> float:
    """Tempo of the first tempo event in beats per minute (120 when there is none)."""
    for track in midi.tracks:
        for message in track:
            if message.type == "set_tempo":
                return float(mido.tempo2bpm(message.tempo))
    return 120.0


def _grid_position(tick: int, ticks_per_beat: int) -> tuple[int, float]:
    step_ticks = ticks_per_beat / STEPS_PER_BEAT
    step = int(round(tick / step_ticks))
    return step, (tick - step * step_ticks) / step_ticks


def drum_loop(notes: list[Onset], ticks_per_beat: int, min_steps: int = 0) -> DrumLoop:
    """Put drum onsets on the grid, mapping pitches to the 9 classes (unmapped pitches are skipped).

    Args:
        notes: onsets, usually the channel-10 ones of a file.
        ticks_per_beat: the file's resolution.
        min_steps: pad the loop to at least this many steps.

    Returns:
        A loop whose length is a whole number of bars.
    """
    placed = [(*_grid_position(n.tick, ticks_per_beat), cls, n.velocity) for n in notes if (cls := drum_class(n.pitch)) is not None]
    last = max((step for step, _, _, _ in placed), default=-1)
    steps = max(min_steps, -(-(last + 1) // STEPS_PER_BAR) * STEPS_PER_BAR)
    hits = np.zeros((steps, NUM_DRUMS), np.float32)
    velocities = np.zeros_like(hits)
    offsets = np.zeros_like(hits)
    for step, offset, cls, velocity in placed:
        if velocity / 127.0 > velocities[step, cls]:
            hits[step, cls] = 1.0
            velocities[step, cls] = velocity / 127.0
            offsets[step, cls] = offset
    return DrumLoop(hits, velocities, offsets)


def loop_events(loop: DrumLoop) -> list[NoteEvent]:
    """The loop's hits as note events in beats from its start (General MIDI pitches, sorted by onset).

    This is the form the live engine schedules: onset = (step + offset) / 4 beats, clamped at 0.
    """
    events = []
    for step, cls in zip(*np.nonzero(loop.hits > 0.5), strict=True):
        onset = max(0.0, (step + float(np.clip(loop.offsets[step, cls], -1, 1))) / STEPS_PER_BEAT)
        velocity = int(np.clip(round(float(loop.velocities[step, cls]) * 127), 1, 127))
        events.append(NoteEvent(onset, CLASS_OUTPUT_PITCHES[cls], velocity, OUTPUT_NOTE_STEPS / STEPS_PER_BEAT))
    return sorted(events, key=lambda event: (event.onset_beats, event.pitch))


def loop_to_midi(loop: DrumLoop, bpm: float = 120.0, ticks_per_beat: int = 480) -> mido.MidiFile:
    """Write a loop as a type-0 MIDI file on channel 10 with GM drum pitches and real tick offsets.

    Args:
        loop: the performance; offsets move each note by that fraction of a 16th note.
        bpm: tempo written to the file.
        ticks_per_beat: resolution of the file.

    Returns:
        The MIDI file, with a 4/4 time signature and one tempo event.
    """
    step_ticks = ticks_per_beat / STEPS_PER_BEAT
    length = max(1, int(OUTPUT_NOTE_STEPS * step_ticks))
    events: list[tuple[int, int, int, int]] = []  # tick, order (off before on), pitch, velocity
    for step, cls in zip(*np.nonzero(loop.hits > 0.5), strict=True):
        tick = max(0, int(round((step + float(np.clip(loop.offsets[step, cls], -1, 1))) * step_ticks)))
        velocity = int(np.clip(round(float(loop.velocities[step, cls]) * 127), 1, 127))
        pitch = CLASS_OUTPUT_PITCHES[cls]
        events.append((tick, 1, pitch, velocity))
        events.append((tick + length, 0, pitch, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    now = 0
    for tick, is_on, pitch, velocity in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, channel=DRUM_CHANNEL, note=pitch, velocity=velocity, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    return midi
