"""Engine benchmarks: scheduling jitter while the piano decodes, JACK loopback, real-time factor
(piano alone, and piano plus the drum voice following it), time to first note, control latency. `run()` returns rows for the benchmark runner.

The piano rows use `encore.models.piano.stream` with the shipped checkpoint when
`models/checkpoints/piano-default/` exists, else the tiny random model; where the stream API is
missing, a torch matmul thread stands in for decoding (the note says so).

- `jitter_*`: percentiles of the sender's lateness over every event of one 20-s real-time run.
- `jack_loopback_p50|p99`: each note-on received back through a JACK dummy server is matched to the
  note-on sent with the same channel and pitch nearest in time (within `MATCH_WINDOW_S`), so a lost
  note costs one pair, not every later one; `jack_loopback_lost` counts notes sent and never
  received. Nothing received is a failed row (no value), never 0 ms.
- `control_latency_p50|p95`, `control_latency_p50_no_rewind`: sampling changes during a real-time show of
  the shipped piano (`benchmarks/control_latency.py`).
- `rtf_piano`, `rtf_piano_drums`: music seconds over wall seconds, the median of `RTF_RUNS` runs, each
  from a fresh voice (same seed, so the same music); the note gives the spread.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.control_latency import control_latency_rows
from benchmarks.timing import Spread
from encore.engine.clock import VirtualClock
from encore.engine.engine import Engine, EngineConfig
from encore.engine.report import ShowReport, percentile
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.base import Voice
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent
from encore.models.shipped import shipped_folder

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
DEFAULT_CHECKPOINT = shipped_folder("piano", "default")
JITTER_SECONDS = 20.0
PROBE_BPM = 240.0
#: An arrival is paired with a send of the same channel and pitch at most this far from it in time
#: (the probe repeats a key every 0.25 s, so pairs cannot be confused).
MATCH_WINDOW_S = 0.1
#: How many times each real-time factor is measured.
RTF_RUNS = 5

Key = tuple[int, int]
"""(channel, pitch) of a note message."""


def _probe_voice() -> PatternVoice:
    """Two-note chords every 32nd at 240 bpm: 64 note-ons and 64 note-offs a second to time."""
    pattern = [NoteEvent(i / 8, 72 + (i % 8) + 12 * k, 70, 1 / 16) for i in range(8) for k in range(2)]
    return PatternVoice("probe", 1, pattern, 1.0)


def _piano_voice() -> tuple[Voice | None, str]:
    if importlib.util.find_spec("encore.models.piano.stream") is None:
        return None, "no models.piano_stream"
    import torch

    from encore.engine.voices.piano import PianoVoice
    from encore.models.piano.checkpoint import PianoBundle, load_piano
    from encore.models.piano.stream import PianoStream

    torch.set_num_threads(1)  # as shows do (engine.show): several times faster on 2 loaded cores
    if (DEFAULT_CHECKPOINT / "model.safetensors").is_file():
        bundle, which = load_piano(DEFAULT_CHECKPOINT), "piano-default"
    else:
        bundle, which = PianoBundle.random(preset="tiny"), "tiny random"
    return PianoVoice(PianoStream(bundle, seed=0), SEED), which


class _TorchLoad:
    """A thread doing small matmuls back to back, standing in for decoding when no stream exists."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _TorchLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import torch

        a = torch.randn(256, 256)
        while not self._stop.is_set():
            for _ in range(20):
                a = torch.tanh(a @ a) + 0.0  # python overhead between ops, as a decode step has
            _ = [i * i for i in range(500)]


def _jitter_rows(switch_interval: float | None, label: str) -> list[dict]:
    piano, which = _piano_voice()
    voices: list[Voice] = [_probe_voice()] + ([piano] if piano is not None else [])
    config = EngineConfig(bpm=PROBE_BPM, switch_interval_s=switch_interval)
    engine = Engine(voices, [MemorySink()], config)
    if piano is None:
        with _TorchLoad():
            report = asyncio.run(engine.run(JITTER_SECONDS))
        load = "torch matmul thread standing in for decoding (no models.piano_stream)"
    else:
        report = asyncio.run(engine.run(JITTER_SECONDS))
        load = f"piano voice decoding ({which})"
    jitter = report.jitter_ms()
    note = (f"{len(report.lateness)} events over {JITTER_SECONDS:.0f} s (one run), {load}, {label}; "
            f"underruns {report.counts.underruns}")
    return [
        {"name": f"jitter_p50[{label}]", "value": round(jitter["p50"], 3), "unit": "ms", "note": note},
        {"name": f"jitter_p99[{label}]", "value": round(jitter["p99"], 3), "unit": "ms", "note": "target <= 1 ms"},
        {"name": f"jitter_max[{label}]", "value": round(jitter["max"], 3), "unit": "ms", "note": ""},
    ]


@dataclass(frozen=True)
class Matching:
    """Arrivals paired with sends.

    Attributes:
        latencies_s: Arrival minus send time of every matched pair, in send order.
        lost: Sends that no arrival matched.
        unmatched: Arrivals that matched no send.
    """

    latencies_s: list[float]
    lost: int
    unmatched: int


def match_arrivals(sent: Sequence[tuple[Key, float]], received: Sequence[tuple[Key, float]],
                   window_s: float = MATCH_WINDOW_S) -> Matching:
    """Pair each received note with the sent note of the same key nearest in time (at most `window_s`
    apart), closest pairs first; each send and each arrival is used once."""
    candidates = []
    for i, (key, sent_at) in enumerate(sent):
        for j, (other, arrived_at) in enumerate(received):
            if other == key and abs(arrived_at - sent_at) <= window_s:
                candidates.append((abs(arrived_at - sent_at), i, j))
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    for _, i, j in sorted(candidates):
        if i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)
    latencies = [received[pairs[i]][1] - sent[i][1] for i in sorted(pairs)]
    return Matching(latencies, len(sent) - len(pairs), len(received) - len(taken))


def loopback_rows(matching: Matching, sent: int, what: str) -> list[dict]:
    """The loopback rows of one matching of `sent` note-ons."""
    lost_note = (f"of {sent} note-ons sent, never received; {matching.unmatched} received matched no send "
                 f"(same channel and pitch within {MATCH_WINDOW_S * 1000:.0f} ms)")
    lost = {"name": "jack_loopback_lost", "value": matching.lost, "unit": "notes", "note": lost_note}
    if not matching.latencies_s:
        failed = f"FAILED: nothing received back of {sent} note-ons sent ({what})"
        return [{"name": "jack_loopback_p50", "value": None, "unit": "ms", "note": failed},
                {"name": "jack_loopback_p99", "value": None, "unit": "ms", "note": failed}, lost]
    errors = [1000 * s for s in matching.latencies_s]
    note = (f"{len(errors)} of {sent} note-ons received back through {what}, each matched to the send of "
            f"the same channel and pitch nearest in time")
    return [
        {"name": "jack_loopback_p50", "value": round(percentile(errors, 0.5), 3), "unit": "ms", "note": note},
        {"name": "jack_loopback_p99", "value": round(percentile(errors, 0.99), 3), "unit": "ms",
         "note": f"max {max(errors):.3g} ms"},
        lost,
    ]


def _jack_rows(seconds: float = 10.0) -> list[dict]:
    import os
    import shutil
    import subprocess

    if shutil.which("jackd") is None:
        return [{"name": "jack_loopback_p50", "value": None, "unit": "ms", "note": "skipped: no jackd"}]
    import rtmidi

    from encore.engine.sinks.midi_out import MidiOutSink

    name = f"encore-bench-{os.getpid()}"
    server = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    try:
        time.sleep(1.0)
        received: list[tuple[Key, float]] = []

        def arrived(item: tuple[list[int], float], _: object) -> None:
            at, message = time.perf_counter(), item[0]
            if len(message) == 3 and message[0] & 0xF0 == 0x90 and message[2] > 0:
                received.append(((message[0] & 0x0F, message[1]), at))

        midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "encore-bench-in")
        midi_in.set_callback(arrived)
        midi_in.open_virtual_port("in")
        memory = MemorySink()
        engine = Engine([_probe_voice()], [MidiOutSink("encore-bench-in", api="jack"), memory],
                        EngineConfig(bpm=PROBE_BPM))
        asyncio.run(engine.run(seconds))
        time.sleep(0.1)
        midi_in.delete()
        origin = engine.sender.origin
        sent = [((e.channel, e.message[1]), origin + e.time) for e in memory.events if e.is_note_on]
    finally:
        server.terminate()
        server.wait()
    return loopback_rows(match_arrivals(sent, list(received)), len(sent),
                         "jackd dummy (48 kHz, 256-frame periods = 5.3 ms)")


def _rtf_once(with_drums: bool, beats: float) -> tuple[float, float, str] | None:
    """(music s, wall s, which piano) of one render of `beats` from a fresh voice, or None without one.

    The piano alone renders them in one go; with drums, piano and drums following it render a beat at
    a time in turn, as the engine asks them.
    """
    piano, which = _piano_voice()
    if piano is None:
        return None
    voices: list[Voice] = [piano]
    if with_drums:
        from encore.engine.voices.drums import DrumPart, DrumVoice
        from encore.engine.voices.note_tap import NoteTap
        from encore.models.groove.library import load_library
        from encore.models.groove.model import GrooveModel

        piano.tap = NoteTap()
        voices.append(DrumVoice(GrooveModel.load("factorized"), load_library(), DrumPart("follow-piano", "pop"),
                                follow=piano.tap))
    bpm = 120.0
    for voice in voices:
        voice.render(4.0)  # warm up
    started = time.perf_counter()
    if not with_drums:
        while piano.position_beats < 4.0 + beats:  # a render may return early (token cap per render)
            piano.render_until(4.0 + beats)
    for beat in range(5, 5 + int(beats)) if with_drums else ():
        for voice in voices:
            while voice.position_beats < beat:
                voice.render(float(beat))
    wall = time.perf_counter() - started
    return beats * 60.0 / bpm, wall, which


def _rtf_rows(with_drums: bool = False, runs: int = RTF_RUNS, beats: float = 64.0) -> list[dict]:
    name = "rtf_piano_drums" if with_drums else "rtf_piano"
    results = [result for _ in range(runs) if (result := _rtf_once(with_drums, beats)) is not None]
    if not results:
        return [{"name": name, "median": None, "unit": "x", "note": "skipped: no models.piano_stream"}]
    music, _, which = results[0]
    factors = Spread.of([music / wall for music, wall, _ in results])
    walls = Spread.of([wall for _, wall, _ in results])
    what = f"{which} + drums (groove-factorized, follow-piano)" if with_drums else which
    note = (f"median of {factors.n} runs, each a fresh voice (same seed): {what}, {music:.0f} s of music at "
            f"120 bpm in {walls.median:.1f} s (median); {factors.describe('x')}")
    return [{"name": name, "median": round(factors.median, 2), "unit": "x",
             "note": note + ("" if with_drums else "; target >= 3x")}]


def _rtf_band_rows() -> list[dict]:
    return _rtf_rows(with_drums=True)


def _first_note_rows() -> list[dict]:
    if importlib.util.find_spec("encore.models.piano.stream") is None:
        return [{"name": "first_note_s", "value": None, "unit": "s", "note": "skipped: no models.piano_stream"}]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        piano, which = _piano_voice()
        engine = Engine([piano], [MemorySink()], EngineConfig(bpm=120.0))
        report = _run_until_first_note(engine)
        assert report.first_note_s is not None
        times.append(time.perf_counter() - started - report.seconds + (engine.sender.first_note_time or 0.0))
    return [{"name": "first_note_s", "median": round(statistics.median(times), 3), "unit": "s",
             "note": f"load + prime ({which}) + preroll to the first note-on sent, in process (add ~python start); "
                     f"{Spread.of(times).describe('s')}"}]


def _run_until_first_note(engine: Engine) -> ShowReport:
    async def play() -> ShowReport:
        task = asyncio.create_task(engine.run(10.0))
        while engine.sender.first_note_time is None and not task.done():
            await asyncio.sleep(0.005)
        engine.stop()
        return await task

    return asyncio.run(play())


def _offline_hour_row() -> list[dict]:
    engine = Engine([_probe_voice()], [MemorySink()], EngineConfig(bpm=120.0, tick_s=0.05), now=VirtualClock())
    started = time.perf_counter()
    report = engine.run_offline(600.0)
    wall = time.perf_counter() - started
    return [{"name": "offline_speed_pattern", "value": round(report.seconds / wall, 1), "unit": "x",
             "note": "virtual-clock show of a dense pattern, engine overhead alone"}]


def run() -> list[dict]:
    """Every engine benchmark row."""
    rows: list[dict] = []
    steps: list[Callable[[], list[dict]]] = [
        _offline_hour_row,  # first: the heap the real-time shows leave behind slows it by a fifth or more
        lambda: _jitter_rows(0.0005, "switchinterval 0.5 ms"),
        lambda: _jitter_rows(None, f"switchinterval {sys.getswitchinterval() * 1000:.0f} ms"),
        _jack_rows,
        _rtf_rows,
        _rtf_band_rows,
        _first_note_rows,
        control_latency_rows,
    ]
    for step in steps:
        rows.extend(step())
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
