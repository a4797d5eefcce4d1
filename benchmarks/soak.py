"""Soak: the engine with the real default piano for N minutes of music, offline on the virtual clock.

    python -m benchmarks.soak                 # one hour of music (about 20 min to 1 h of wall time)
    python -m benchmarks.soak --minutes 3 --drums

Reports what an hour-long show must get right (docs/engine.md, "Soak"):

- the largest gap between consecutive note onsets sent, against the longest rest the model itself
  wrote (the engine must add none);
- clock drift: every event sent must sit exactly at `clock.time_at(beat)` (notes the underrun policy
  shifted are counted apart);
- underruns (shifted, dropped), notes, KV-cache rolls of the piano stream, wall time.

It is a script, not a test: an hour of decoding does not belong in `make test`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.engine.voices.note_tap import NoteTap

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
TICK_S = 0.05


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


def soak(minutes: float, bpm: float, drums: bool) -> dict[str, object]:
    """Play `minutes` of music offline and measure it (see the module docstring)."""
    voices, tap = _voices(drums)
    sink = MemorySink()
    engine = Engine(voices, [sink], EngineConfig(bpm=bpm, tick_s=TICK_S), now=VirtualClock())
    started = time.perf_counter()
    report = engine.run_offline(minutes * 60.0)
    wall = time.perf_counter() - started
    clock = engine.clock
    sent = [e for e in sink.events if not e.is_meta and e.track == "piano"]
    sent_onsets = [e.time for e in sent if e.is_note_on]
    written = [clock.time_at(n.onset_beats) for n in tap.read(0.0, report.beats)]
    drifted = [e for e in sink.events if (e.is_note_on or e.is_note_off) and e.time != clock.time_at(e.beat)]
    stream = voices[0].stream  # type: ignore[attr-defined]
    return {
        "music_s": round(report.seconds, 1),
        "wall_s": round(wall, 1),
        "speed_x": round(report.seconds / wall, 2),
        "notes_sent": report.notes_sent,
        "drum_notes": sum(1 for e in sink.events if e.is_note_on and e.track == "drums"),
        "largest_gap_sent_s": round(_largest_gap(sent_onsets), 4),
        "longest_rest_written_s": round(_largest_gap([t for t in written if t < report.seconds]), 4),
        "drifted_events": len(drifted) - report.counts.shifted,
        "underruns": report.counts.underruns,
        "shifted": report.counts.shifted,
        "dropped": report.counts.dropped,
        "cache_rolls": stream.cache.rolls,
        "tokens": voices[0].tokens,  # type: ignore[attr-defined]
        "voice_failures": report.voice_failures,
        "hanging_at_end": len(engine.router.sounding()),
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
