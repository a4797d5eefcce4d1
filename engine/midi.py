"""MIDI facts as tables, and the timed event every part of the engine passes around.

An event carries raw MIDI bytes (what RtMidi sends as is), the show time in seconds at which it must
sound, the show beat it belongs to (what the recorder writes), and the track (voice) it came from.
A tempo change travels as the standard meta event `FF 51 03 tt tt tt`, which only recording sinks see.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL_CHANGE = 0xB0
PROGRAM_CHANGE = 0xC0
SYSTEM = 0xF0
META = 0xFF
META_SET_TEMPO = 0x51

# Controller numbers (General MIDI).
CC_SUSTAIN = 64
CC_ALL_NOTES_OFF = 123

TEMPO_TRACK = "tempo"  # the track name of tempo meta events (track 0 of a type-1 file)
MICROSECONDS_PER_MINUTE = 60_000_000

# Time-signature denominators MIDI files can express, to the power of two they are written as.
TIME_SIGNATURE_DENOMINATORS = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5}


@dataclass(frozen=True, slots=True, order=True)
class MidiEvent:
    """One timed MIDI message.

    Attributes:
        time: Show time in seconds (0 is the show's origin) at which the message must sound.
        beat: Show beat (quarter notes from the origin) the message belongs to.
        message: Raw MIDI bytes.
        track: Name of the voice (track) that produced it.
    """

    time: float
    beat: float
    message: tuple[int, ...]
    track: str

    @property
    def status(self) -> int:
        """Status nibble for channel messages (`NOTE_ON`, ...), `META` for meta events."""
        return META if self.message[0] == META else self.message[0] & 0xF0

    @property
    def channel(self) -> int:
        """MIDI channel 0-15 of a channel message."""
        return self.message[0] & 0x0F

    @property
    def is_meta(self) -> bool:
        """Whether this is a meta event (only recorders see those)."""
        return self.message[0] == META

    @property
    def is_system(self) -> bool:
        """Whether this is a system message (MIDI clock, start, stop, song position: `0xF0`-`0xFE`),
        which only sinks that want system messages (clock outputs) see."""
        return SYSTEM <= self.message[0] < META

    @property
    def is_note_on(self) -> bool:
        """A note-on with non-zero velocity."""
        return self.status == NOTE_ON and self.message[2] > 0

    @property
    def is_note_off(self) -> bool:
        """A note-off, or a note-on with velocity zero."""
        return self.status == NOTE_OFF or (self.status == NOTE_ON and self.message[2] == 0)


def note_on(channel: int, pitch: int, velocity: int) -> tuple[int, ...]:
    """Bytes of a note-on; pitch and velocity are clamped to the MIDI range (velocity at least 1)."""
    return (NOTE_ON | channel, min(max(pitch, 0), 127), min(max(velocity, 1), 127))


def note_off(channel: int, pitch: int) -> tuple[int, ...]:
    """Bytes of a note-off with release velocity 0."""
    return (NOTE_OFF | channel, min(max(pitch, 0), 127), 0)


def control_change(channel: int, controller: int, value: int) -> tuple[int, ...]:
    """Bytes of a control change."""
    return (CONTROL_CHANGE | channel, controller, value)


def program_change(channel: int, program: int) -> tuple[int, ...]:
    """Bytes of a program change."""
    return (PROGRAM_CHANGE | channel, program)


def set_tempo(bpm: float) -> tuple[int, ...]:
    """Bytes of the set-tempo meta event (microseconds per quarter note, 24-bit big-endian)."""
    tempo = bpm_to_tempo(bpm)
    return (META, META_SET_TEMPO, 3, (tempo >> 16) & 0xFF, (tempo >> 8) & 0xFF, tempo & 0xFF)


def bpm_to_tempo(bpm: float) -> int:
    """Quarter notes per minute to MIDI tempo (microseconds per quarter note)."""
    return round(MICROSECONDS_PER_MINUTE / bpm)


def tempo_to_bpm(tempo: int) -> float:
    """MIDI tempo (microseconds per quarter note) to quarter notes per minute."""
    return MICROSECONDS_PER_MINUTE / tempo


def meta_tempo_bpm(message: tuple[int, ...]) -> float:
    """The bpm a set-tempo meta event carries."""
    return tempo_to_bpm((message[3] << 16) | (message[4] << 8) | message[5])
