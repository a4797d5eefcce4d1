"""External clocks, measured: MIDI clock-out jitter, and two Encore processes in one Link session.

    python -m benchmarks.bench_sync jitter [--seconds 20]    # clock ticks' lateness while the piano decodes
    python -m benchmarks.bench_sync link [--minutes 10]      # two peers' phase, in a network namespace
    python -m benchmarks.bench_sync peer --seconds N --out F # one peer (what `link` runs, twice)

`jitter`: a real-time show of the piano (the shipped checkpoint, else the tiny random model) with a
MIDI clock output at 120 bpm; the sender's lateness of every clock tick (the clock output's own
jitter, before the MIDI API), p50/p99/max.

`link`: two peer processes, each a real-time engine playing a click (one note a beat) and following
the session through `LinkSync`, the second joining 2 s later with another tempo (it takes the
session's). Both run in one network namespace of their own (`unshare --net`, only `lo` up, a
multicast route on it), so Link's discovery never reaches the machine's network; without the
privilege to make one the benchmark says so and stops. Each peer writes, for every click it sent,
the engine-clock time it was scheduled for, the time it was sent and its beat (one monotonic clock:
both run on this machine). Every click of the first peer is paired with the second's nearest in
time; the phase error is their time difference (pairs must agree on the beat modulo the quantum).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.report import percentile
from encore.engine.show import Show
from encore.engine.sinks.base import Sink, SinkStatus
from encore.engine.sync.clock_out import MemoryClockSink
from encore.engine.sync.ticker import ClockTicker
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent

QUANTUM = 4.0
NAMESPACE_SETUP = "ip link set lo up && ip route add 224.0.0.0/4 dev lo"


class SendLog(Sink):
    """Keeps, for every note-on, the show time it was due, when it was sent (`perf_counter`) and its beat."""

    def __init__(self) -> None:
        super().__init__("send-log")
        self.notes: list[tuple[float, float, float]] = []

    def _send(self, event: MidiEvent) -> None:
        if event.is_note_on:
            self.notes.append((event.time, time.perf_counter(), event.beat))


class TempoChange:
    """A surface that submits `SetTempo(bpm)` at show time `at_s` (a performer proposing a tempo)."""

    name = "tempo change"

    def __init__(self, at_s: float, bpm: float) -> None:
        self.at_s, self.bpm = at_s, bpm
        self.applied_at: float | None = None

    def status(self) -> SinkStatus:
        return SinkStatus(self.name, "bench", "open")

    async def run(self, show: Show) -> None:
        while not show.engine.playing or show.engine.show_time() < self.at_s:
            await asyncio.sleep(0.01)
        show.submit(SetTempo(self.bpm))
        self.applied_at = time.perf_counter()


def peer(seconds: float, bpm: float, out: Path, change: tuple[float, float] | None = None) -> None:
    """One Encore process in the session: a click a beat for `seconds`, its clicks written to `out`;
    `change`: (show seconds, bpm) of a tempo it sets (and so proposes to the session)."""
    from encore.engine.surfaces import perform_with_surfaces
    from encore.engine.sync.link import LinkSync

    log = SendLog()
    click = PatternVoice("click", 9, [NoteEvent(0.0, 37, 100, 0.25)], 1.0)
    engine = Engine([click], [log], EngineConfig(bpm=bpm))
    show = Show(engine, seconds)
    link = LinkSync(show, QUANTUM)
    changing = [TempoChange(*change)] if change is not None else []
    report = asyncio.run(perform_with_surfaces(show, [link, *changing]))
    origin = engine.sender.origin
    out.write_text(json.dumps({
        "clicks": [[origin + due, sent, beat] for due, sent, beat in log.notes],
        "corrections": link.follower.corrections, "proposed": link.proposed,
        "tempo": engine.clock.bpm_at(report.beats), "underruns": report.counts.underruns,
        "changed_at": changing[0].applied_at if changing else None,
    }))


def namespace_available() -> str | None:
    """None if a network namespace with a multicast route on `lo` can be made here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) is not installed"
    try:
        probe = subprocess.run(["unshare", "--net", "sh", "-c", NAMESPACE_SETUP], capture_output=True, text=True,
                               timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"cannot run unshare: {error}"
    if probe.returncode != 0:
        return f"cannot make a network namespace: {(probe.stderr or probe.stdout).strip() or probe.returncode}"
    return None


def two_peers(seconds: float, folder: Path, change: tuple[float, float] | None = None) -> tuple[dict, dict]:
    """Run two peers in one new network namespace (the second 2 s later, at 90 bpm; the first makes
    `change`, if given); their logs."""
    python = f"{sys.executable} -m benchmarks.bench_sync peer"
    first, second = folder / "first.json", folder / "second.json"
    changing = f"--tempo-at {change[0]} {change[1]}" if change is not None else ""
    script = (f"{NAMESPACE_SETUP} && ({python} --seconds {seconds} --bpm 120 --out {first} {changing} & "
              f"sleep 2; {python} --seconds {seconds - 4} --bpm 90 --out {second}; wait)")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=seconds + 120)
    if done.returncode != 0 or not first.exists() or not second.exists():
        raise RuntimeError(f"peers failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(first.read_text()), json.loads(second.read_text())


def phase_errors(first: list[list[float]], second: list[list[float]], column: int, bpm: float
                 ) -> tuple[list[float], int]:
    """Time differences of each click of `second` from the first's nearest in time (`column`: 0 due, 1 sent),
    and how many pairs disagree on the beat modulo the quantum."""
    times = [click[column] for click in first]
    errors, misplaced = [], 0
    for click in second:
        nearest = min(range(len(times)), key=lambda i: abs(times[i] - click[column]))
        if abs(times[nearest] - click[column]) > 30 / bpm:
            continue  # outside the first peer's show
        errors.append(click[column] - times[nearest])
        misplaced += round(first[nearest][2] - click[2]) % round(QUANTUM) != 0
    return errors, misplaced


def link_result(seconds: float) -> dict:
    """The two-peer measurement."""
    reason = namespace_available()
    if reason is not None:
        return {"skipped": reason}
    with tempfile.TemporaryDirectory() as folder:
        first, second = two_peers(seconds, Path(folder))
    result: dict = {"seconds": seconds, "tempo_second_peer_ended_at": second["tempo"],
                    "corrections": [first["corrections"], second["corrections"]],
                    "underruns": [first["underruns"], second["underruns"]]}
    for name, column in (("due", 0), ("sent", 1)):
        errors, misplaced = phase_errors(first["clicks"], second["clicks"], column, 120.0)
        ms = [abs(e) * 1000 for e in errors]
        result[f"phase_{name}_ms"] = {"pairs": len(ms), "p50": round(percentile(ms, 0.5), 3),
                                      "p99": round(percentile(ms, 0.99), 3), "max": round(max(ms, default=0.0), 3)}
        result[f"off_quantum_{name}"] = misplaced
    return result


class TickLateness(MemoryClockSink):
    """A clock sink keeping each tick's lateness: when it was handed over minus when it was due."""

    def __init__(self) -> None:
        super().__init__("tick-lateness")
        self.lateness: list[float] = []
        self.engine: Engine | None = None

    def _send(self, event: MidiEvent) -> None:
        if self.engine is not None and event.is_system:
            self.lateness.append(time.perf_counter() - self.engine.sender.origin - event.time)
        super()._send(event)


def jitter_result(seconds: float) -> dict:
    """Lateness of the clock ticks the sender emitted during a real-time show of the piano."""
    from benchmarks.bench_engine import _piano_voice
    from encore.engine.surfaces import perform_with_surfaces

    piano, which = _piano_voice()
    clock_out = TickLateness()
    engine = Engine([piano] if piano is not None else [], [clock_out], EngineConfig(bpm=120.0))
    clock_out.engine = engine
    asyncio.run(perform_with_surfaces(Show(engine, seconds), [ClockTicker([clock_out])]))
    ms = [1000 * late for late in clock_out.lateness]
    return {"ticks": len(ms), "voice": which, "p50_ms": round(percentile(ms, 0.5), 3),
            "p99_ms": round(percentile(ms, 0.99), 3), "max_ms": round(max(ms, default=0.0), 3),
            "sender_priority_granted": engine.sender.priority_granted}


LINK_SECONDS = 60.0
"""How long `make bench` runs the two Link peers (the 10-minute run is `python -m benchmarks.bench_sync link`)."""


def run(quick: bool = False) -> list[dict]:
    """Rows for `make bench`: clock-out lateness over 20 s and two Link peers' phase over a minute."""
    jitter = jitter_result(10.0 if quick else 20.0)
    rows = [{"name": "clock_out_jitter_p99", "value": jitter["p99_ms"], "unit": "ms",
             "note": f"{jitter['ticks']} ticks at 120 bpm while {jitter['voice']} decodes; p50 {jitter['p50_ms']} ms, "
                     f"max {jitter['max_ms']} ms, sender priority granted: {jitter['sender_priority_granted']}; "
                     "target <= 1 ms"}]
    link = link_result(20.0 if quick else LINK_SECONDS)
    if "skipped" in link:
        return [*rows, {"name": "link_phase_p99", "value": None, "unit": "ms", "note": f"skipped: {link['skipped']}"}]
    sent = link["phase_sent_ms"]
    rows.append({"name": "link_phase_p99", "value": sent["p99"], "unit": "ms",
                 "note": f"two Encore peers in one Link session (a network namespace), {link['seconds']:.0f} s, "
                         f"{sent['pairs']} click pairs as sent: p50 {sent['p50']} ms, max {sent['max']} ms; as "
                         f"scheduled p99 {link['phase_due_ms']['p99']} ms; target: within 5 ms"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("peer")
    one.add_argument("--seconds", type=float, required=True)
    one.add_argument("--bpm", type=float, default=120.0)
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--tempo-at", nargs=2, type=float, metavar=("SECONDS", "BPM"), help="set a tempo then")
    link = sub.add_parser("link")
    link.add_argument("--minutes", type=float, default=10.0)
    jitter = sub.add_parser("jitter")
    jitter.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.what == "peer":
        peer(args.seconds, args.bpm, args.out, tuple(args.tempo_at) if args.tempo_at else None)
    elif args.what == "link":
        print(json.dumps(link_result(args.minutes * 60)))
    else:
        print(json.dumps(jitter_result(args.seconds)))


if __name__ == "__main__":
    main()
