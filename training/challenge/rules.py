"""The challenge grader's rules for an entry MIDI file, checked with mido exactly as the grader reads it.

The grader opens the file with `mido.MidiFile(path)`, strips every meta message (dropping each one
with its delta time, as a plain filter over the track does) and measures `MidiFile.length`. An
entry passes when it is MIDI type 0 with one track, holds only note_on/note_off messages (a note_off
may be a note_on with velocity 0) besides meta messages, is timed for 120 bpm (no set_tempo other
than 120 bpm: the grader strips it, so a model's own tempo must live in the ticks), and lasts
`target_s` +/- `tolerance_s` seconds both as stored and with its meta messages removed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import mido

from encore.models.errors import EncoreError

TARGET_S = 3600.0
TOLERANCE_S = 10.0
GRADER_BPM = 120.0
GRADER_TEMPO = mido.bpm2tempo(GRADER_BPM)  # microseconds per beat: 500000
NOTE_TYPES = frozenset({"note_on", "note_off"})


class EntryFileError(EncoreError):
    """An entry file that is missing or that mido cannot read."""


@dataclass(frozen=True)
class RuleResult:
    """One grader rule: its name, whether the entry keeps it, and one line saying what was found."""

    rule: str
    passed: bool
    detail: str

    def line(self) -> str:
        """`ok   rule: detail` or `FAIL rule: detail`."""
        return f"{'ok  ' if self.passed else 'FAIL'} {self.rule}: {self.detail}"


def read_entry(path: Path) -> mido.MidiFile:
    """Open the file as the grader does.

    Raises:
        EntryFileError: the file is missing, empty or not a readable MIDI file.
    """
    path = Path(path)
    if not path.is_file():
        raise EntryFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise EntryFileError(f"{path}: the file is empty")
    try:
        return mido.MidiFile(path)
    except Exception as error:  # mido raises OSError, EOFError, ValueError, KeyError... for corrupt data
        raise EntryFileError(f"{path}: not a readable MIDI file ({type(error).__name__}: {error})") from None


def strip_meta(midi: mido.MidiFile) -> mido.MidiFile:
    """A copy without meta messages, each dropped with its delta time, as the grader's filter does."""
    stripped = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        stripped.tracks.append(mido.MidiTrack(message for message in track if not message.is_meta))
    return stripped


def length_s(midi: mido.MidiFile) -> float | None:
    """`MidiFile.length`, or None where mido cannot compute it (a type 2 file)."""
    try:
        return float(midi.length)
    except (TypeError, ValueError):
        return None


def check_midi(midi: mido.MidiFile, target_s: float = TARGET_S, tolerance_s: float = TOLERANCE_S) -> list[RuleResult]:
    """Every grader rule, in order, for an opened file."""
    results = [
        RuleResult("type 0", midi.type == 0, f"MIDI type {midi.type}" + ("" if midi.type == 0 else ", the grader wants type 0")),
        RuleResult("one track", len(midi.tracks) == 1,
                   f"{len(midi.tracks)} track{'s' * (len(midi.tracks) != 1)}" + ("" if len(midi.tracks) == 1 else ", the grader wants exactly one")),
    ]
    others = Counter(m.type for track in midi.tracks for m in track if not m.is_meta and m.type not in NOTE_TYPES)
    found = ", ".join(f"{count} {kind}" for kind, count in others.most_common())
    results.append(RuleResult("only note events", not others,
                              "only note_on/note_off besides meta messages" if not others
                              else f"found {found}: only note_on/note_off are allowed"))
    notes = sum(1 for track in midi.tracks for m in track if m.type == "note_on" and m.velocity > 0)
    results.append(RuleResult("has notes", notes > 0, f"{notes} notes" if notes else "no note_on with a velocity above 0"))
    tempos = [(tick, m.tempo) for track in midi.tracks for tick, m in _absolute(track) if m.type == "set_tempo"]
    wrong = [(tick, tempo) for tick, tempo in tempos if tempo != GRADER_TEMPO]
    if wrong:
        tick, tempo = wrong[0]
        detail = (f"{len(wrong)} set_tempo event(s) other than 120 bpm, the first {mido.tempo2bpm(tempo):.2f} bpm at "
                  f"tick {tick}: the grader strips them and plays the ticks at 120 bpm, so time the ticks for 120 bpm")
    else:
        detail = "ticks timed for 120 bpm (no other set_tempo)"
    results.append(RuleResult("120 bpm", not wrong, detail))
    for name, measured in (("length", midi), ("length without meta", strip_meta(midi))):
        seconds = length_s(measured)
        if seconds is None:
            results.append(RuleResult(name, False, "mido cannot measure the length of a type 2 file"))
            continue
        ok = abs(seconds - target_s) <= tolerance_s
        detail = f"{seconds:.2f} s" + ("" if ok else f", outside {target_s:g} +/- {tolerance_s:g} s "
                                       f"({seconds - target_s:+.2f} s)")
        results.append(RuleResult(name, ok, detail))
    return results


def check_entry(path: Path, target_s: float = TARGET_S, tolerance_s: float = TOLERANCE_S) -> list[RuleResult]:
    """Every grader rule for the file at `path`.

    Raises:
        EntryFileError: the file is missing or unreadable.
    """
    return check_midi(read_entry(path), target_s, tolerance_s)


def _absolute(track: mido.MidiTrack) -> list[tuple[int, mido.Message | mido.MetaMessage]]:
    tick, timed = 0, []
    for message in track:
        tick += message.time
        timed.append((tick, message))
    return timed
