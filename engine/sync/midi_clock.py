"""MIDI clock facts: the system real-time and song-position messages, and tick units.

A MIDI clock sends 24 ticks (`0xF8`) per quarter note. `Start` (`0xFA`) means "play from the top at
the next tick", `Continue` (`0xFB`) "play on from the song position at the next tick", `Stop` (`0xFC`)
"stop now". Song Position Pointer (`0xF2 lsb msb`) counts sixteenth notes (6 ticks) from the top,
in 14 bits. The engine carries these as `MidiEvent`s on the track `CLOCK_TRACK`: only sinks that
want system messages (the clock outputs) ever see them, never a recording.
"""

from __future__ import annotations

import math

CLOCK_TRACK = "clock"
"""The track name of clock events in the engine's queue."""

TICKS_PER_BEAT = 24
TICKS_PER_SIXTEENTH = 6
MAX_SONG_POSITION = (1 << 14) - 1
"""The largest position a Song Position Pointer can carry, in sixteenths (about 1,024 bars of 4/4)."""

CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
SONG_POSITION = 0xF2

MESSAGE_NAMES = {CLOCK: "clock", START: "start", CONTINUE: "continue", STOP: "stop", SONG_POSITION: "song position"}


def tick_beat(index: int) -> float:
    """Show beat of tick `index` (tick 0 is beat 0)."""
    return index / TICKS_PER_BEAT


def first_tick_at_or_after(beat: float) -> int:
    """Index of the first tick at or after `beat` (a tick that lands on it counts)."""
    return math.ceil(beat * TICKS_PER_BEAT - 1e-9)


def tick_interval_s(bpm: float) -> float:
    """Seconds between two ticks at `bpm`."""
    return 60.0 / (bpm * TICKS_PER_BEAT)


def song_position(sixteenths: int) -> tuple[int, int, int]:
    """Bytes of a Song Position Pointer to `sixteenths` sixteenth notes from the top.

    Raises:
        ValueError: if the position does not fit in 14 bits.
    """
    if not 0 <= sixteenths <= MAX_SONG_POSITION:
        raise ValueError(f"song position must be in [0, {MAX_SONG_POSITION}] sixteenths, got {sixteenths}")
    return (SONG_POSITION, sixteenths & 0x7F, sixteenths >> 7)
