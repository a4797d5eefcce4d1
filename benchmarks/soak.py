"""Soak: the engine with the real default piano for N minutes of music, offline on the virtual clock.

    python -m benchmarks.soak                 # one hour of music (about 20 min to 1 h of wall time)
    python -m benchmarks.soak --minutes 3 --drums

Reports what an hour-long show must get right (docs/engine.md, "Soak"), each checked against
something the engine did not compute itself:

- the largest gap between consecutive piano onsets sent, against the longest rest the model itself
  wrote (the engine must add none);
- drift, against this script's own arithmetic: the soak plays one tempo from beat 0 at 0 s, so an
  event of beat `b` belongs at `b * 60 / bpm` seconds. Every note event sent is compared with that
  (`drift_max_us`, `drifted_events`), and every piano note-on with the onset the model wrote for it
  (matched by pitch, nearest in time): notes the underrun policy shifted are late by design and
  counted apart (`shifted`);
- notes hanging before the final release: the notes still sounding, in what the sink received, just
  before the engine's closing release, whose note-off was never generated (no note-off for them was
  left in the queue). Notes whose note-off lies after the end, cut by the release as designed, are
  counted apart (`cut_at_end`);
- underruns (shifted, dropped), notes, KV-cache rolls of the piano stream, tokens, wall time.

It is a script, not a test: an hour of decoding does not belong in `make test`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.report import ShowReport
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.engine.voices.note_tap import NoteTap
from encore.models.notes import NoteEvent

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
TICK_S = 0.05
#: An event this far (or less) from its expected time counts as on time (float rounding).
DRIFT_TOLERANCE_S = 1e-6


def _voices(drums: bool) -> tuple[list[Voice], NoteTap]:
    import torch

    from encore.engine.voices.piano import PianoVoice
    from encore.models.piano.checkpoint import load_piano
    from encore.models.piano.stream import PianoStream

    torch.set_num_threads(1)  # as shows do (engine.show)
    piano = PianoVoice(PianoStream(load_piano(None, int8=True), seed=0), SEED)  # as shows on a CPU load it
    piano.tap = tap = NoteTap(keep_beats=math.inf)  # every note the model wrote
    voices: list[Voice] = [piano]
    if drums:
        from encore.engine.voices.drums import DrumPart, DrumVoice
        from encore.models.groove.library import load_library
        from encore.models.groove.model import GrooveModel

        voices.append(DrumVoice(GrooveModel.load("factorized"), load_library(), DrumPart("follow-piano", "pop"),
                                follow=tap))
    return voices, tap


def _largest_gap(times: list[float]) -> float:
    ordered = sorted(set(times))
    return max((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=0.0)


@dataclass
class Played:
    """A show played offline, with what was seen just before its final release.

    Attributes:
        engine: The engine after the show.
        report: Its report.
        events: Every event the sink received, in order.
        before_release: How many of `events` came before the final release.
        pending: The events still queued when the show ended (note-offs after the end among them).
        wall_s: Wall time of the show.
    """

    engine: Engine
    report: ShowReport
    events: list[MidiEvent]
    before_release: int
    pending: list[MidiEvent]
    wall_s: float


def play_offline(voices: Sequence[Voice], bpm: float, seconds: float, tick_s: float = TICK_S) -> Played:
    """Play `voices` offline into a memory sink, noting what the sink had received when the final
    release began and what was still queued."""
    sink = MemorySink()
    engine = Engine(list(voices), [sink], EngineConfig(bpm=bpm, tick_s=tick_s), now=VirtualClock())
    seen: dict[str, object] = {"before_release": None, "pending": []}
    release, clear = engine.router.release, engine.queue.clear

    def noting_release(time: float, beat: float, channels: Sequence[int] | None = None) -> None:
        if channels is None:  # the show's closing release (the last such call wins)
            seen["before_release"] = len(sink.events)
        release(time, beat, channels)

    def noting_clear() -> list[MidiEvent]:
        seen["pending"] = events = clear()
        return events

    engine.router.release = noting_release  # type: ignore[method-assign]
    engine.queue.clear = noting_clear  # type: ignore[method-assign]
    started = time.perf_counter()
    report = engine.run_offline(seconds)
    wall = time.perf_counter() - started
    before = seen["before_release"]
    return Played(engine, report, sink.events, len(sink.events) if before is None else int(before),  # type: ignore[call-overload]
                  list(seen["pending"]), wall)  # type: ignore[call-overload]


def expected_time_s(beat: float, bpm: float) -> float:
    """Where beat `beat` belongs at one tempo from beat 0 at 0 s: this script's own arithmetic."""
    return beat * 60.0 / bpm


def drift(events: Sequence[MidiEvent], bpm: float) -> dict[str, float | int]:
    """Largest distance (µs) of a note event's time from `expected_time_s(beat)`, and how many are
    further than `DRIFT_TOLERANCE_S`."""
    errors = [abs(e.time - expected_time_s(e.beat, bpm)) for e in events if e.is_note_on or e.is_note_off]
    return {"drift_max_us": round(float(max(errors, default=0.0)) * 1e6, 3),
            "drifted_events": int(sum(error > DRIFT_TOLERANCE_S for error in errors))}


def onsets_against_written(sent: Sequence[MidiEvent], written: Sequence[NoteEvent], bpm: float,
                           max_shift_s: float) -> dict[str, float | int]:
    """Each note-on sent against the onset the model wrote for it (same pitch, nearest written onset
    at or before it, at most `max_shift_s` earlier: what the underrun policy may shift).

    Returns `onsets_late` (sent later than written by more than `DRIFT_TOLERANCE_S`: shifted notes),
    `onsets_unmatched` (no written onset of that pitch in reach: must be 0) and `onset_late_max_ms`.
    """
    by_pitch: dict[int, list[float]] = {}
    for note in written:
        by_pitch.setdefault(note.pitch, []).append(expected_time_s(note.onset_beats, bpm))
    late, unmatched, worst = 0, 0, 0.0
    for event in sent:
        if not event.is_note_on:
            continue
        offsets = [event.time - t for t in by_pitch.get(event.message[1], ())
                   if -DRIFT_TOLERANCE_S <= event.time - t <= max_shift_s + DRIFT_TOLERANCE_S]
        if not offsets:
            unmatched += 1
            continue
        offset = min(offsets, key=abs)
        if offset > DRIFT_TOLERANCE_S:
            late += 1
            worst = max(worst, offset)
    return {"onsets_late": late, "onsets_unmatched": unmatched, "onset_late_max_ms": round(worst * 1e3, 3)}


def hanging_notes(before_release: Sequence[MidiEvent], pending: Sequence[MidiEvent]) -> dict[str, int]:
    """Notes sounding just before the final release, split into those whose note-off was never
    generated (`hanging_before_release`) and those whose note-off was queued after the end
    (`cut_at_end`).

    Args:
        before_release: What a sink received before the final release, in order.
        pending: The events still queued at the end.
    """
    sounding: dict[tuple[int, int], int] = {}
    for event in before_release:
        key = (event.channel, event.message[1]) if not event.is_meta else None
        if key is None:
            continue
        if event.is_note_on:
            sounding[key] = sounding.get(key, 0) + 1
        elif event.is_note_off and sounding.get(key):
            sounding[key] -= 1
    hanging = cut = 0
    for key, count in sounding.items():
        if count <= 0:
            continue
        # Every queued note-on has its own note-off queued with it: the note-offs beyond those end
        # notes that already sound.
        queued = [e for e in pending if not e.is_meta and (e.channel, e.message[1]) == key]
        spare = max(0, sum(e.is_note_off for e in queued) - sum(e.is_note_on for e in queued))
        cut += min(count, spare)
        hanging += count - min(count, spare)
    return {"hanging_before_release": hanging, "cut_at_end": cut}


def soak(minutes: float, bpm: float, drums: bool) -> dict[str, object]:
    """Play `minutes` of music offline and measure it (see the module docstring)."""
    voices, tap = _voices(drums)
    played = play_offline(voices, bpm, minutes * 60.0)
    report, engine = played.report, played.engine
    before = played.events[:played.before_release]
    sent = [e for e in before if not e.is_meta and e.track == "piano"]
    written_notes = tap.read(0.0, report.beats)
    written = [expected_time_s(n.onset_beats, bpm) for n in written_notes]
    stream = voices[0].stream  # type: ignore[attr-defined]
    return {
        "music_s": round(report.seconds, 1),
        "wall_s": round(played.wall_s, 1),
        "speed_x": round(report.seconds / played.wall_s, 2),
        "notes_sent": report.notes_sent,
        "drum_notes": sum(1 for e in before if e.is_note_on and e.track == "drums"),
        "largest_gap_sent_s": round(_largest_gap([e.time for e in sent if e.is_note_on]), 4),
        "longest_rest_written_s": round(_largest_gap([t for t in written if t < report.seconds]), 4),
        **drift(before, bpm),
        **onsets_against_written(sent, written_notes, bpm, engine.scheduler.policy.max_shift_s),
        "underruns": report.counts.underruns,
        "shifted": report.counts.shifted,
        "dropped": report.counts.dropped,
        "cache_rolls": stream.cache.rolls,
        "tokens": voices[0].tokens,  # type: ignore[attr-defined]
        "voice_failures": report.voice_failures,
        **hanging_notes(before, played.pending),
    }


def main() -> None:
    """Command line: `python -m benchmarks.soak [--minutes N] [--bpm B] [--drums]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of music (default 60)")
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--drums", action="store_true", help="add the drum voice following the piano")
    args = parser.parse_args()
    print(json.dumps(soak(args.minutes, args.bpm, args.drums), indent=2))


if __name__ == "__main__":
    main()
