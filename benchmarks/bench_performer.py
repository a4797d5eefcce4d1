"""A performer's note to the piano's answer, through JACK: the duet's latency.

    python -m benchmarks.bench_performer [--notes 50] [--quick]

A private `jackd -d dummy` (48 kHz, 256-frame periods = 5.3 ms) runs a JACK keyboard (an rtmidi
client of this process) into `--midi-in` of a real-time show in `duet` mode: the shipped piano
(`piano-default`, else the tiny random model), tempo 120, one note-on every `GAP_S`. For each
note-on the latency runs from the moment the keyboard sends it (`perf_counter`, before
`send_message`) to the moment the first note the piano rendered again after taking the note into its
context is handed to the scheduler (`Revisions.settle` returning it: queueing follows at once). The
musical wait (that note sounds at its beat, after the commit horizon) is not counted. It includes
JACK's period, rtmidi, the controller surface's batch, the engine's tick (10 ms), the piano's rewind,
the replay of the tokens since the note and the tokens up to its first new note.

Rows `performer_latency_p50` and `performer_latency_p95` (seconds); target p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from encore.engine.report import percentile

GAP_S = 0.5
NOTES = 50
QUICK_NOTES = 20
KEYBOARD = "encore-bench-keys"
SEED = Path(__file__).resolve().parents[1] / "setlists" / "seeds" / "pop909_003.mid"


def run(quick: bool = False, notes: int | None = None) -> list[dict]:
    """Rows for the benchmark runner (none, with a note, without jackd)."""
    count = notes or (QUICK_NOTES if quick else NOTES)
    if shutil.which("jackd") is None:
        return [{"name": "performer_latency_p50", "value": None, "unit": "s", "note": "skipped: no jackd"}]
    latencies, which = _measure(count)
    note = (f"{len(latencies)} of {count} note-ons answered; duet, {which}, 120 bpm, a note every {GAP_S} s; "
            "keyboard send to the first re-rendered note scheduled, through jackd dummy (5.3 ms periods); "
            "target p50 <= 0.050 s")
    return [{"name": "performer_latency_p50", "value": round(percentile(latencies, 0.5), 4), "unit": "s", "note": note},
            {"name": "performer_latency_p95", "value": round(percentile(latencies, 0.95), 4), "unit": "s",
             "note": f"max {max(latencies):.4f} s" if latencies else "no answer"}]


def _measure(count: int) -> tuple[list[float], str]:
    name = f"encore-bench-{os.getpid()}"
    server = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    try:
        time.sleep(1.0)
        return asyncio.run(_duet(count))
    finally:
        server.terminate()
        server.wait()


async def _duet(count: int) -> tuple[list[float], str]:
    import rtmidi

    from encore.engine.setlist import load_setlist
    from encore.engine.show import PlayOptions, Show
    from encore.engine.surfaces import perform_with_surfaces
    from encore.models.shipped import resolve_checkpoint
    from encore.stage.controllers.mapping import DEFAULT_MAPPING, load_mapping
    from encore.stage.controllers.midi_input import MidiInput
    from encore.stage.controllers.surface import ControllerSurface

    try:
        resolve_checkpoint("default", "piano")
        checkpoint = "default"
    except Exception:  # noqa: BLE001 - no shipped piano here: the tiny random model times the same path
        checkpoint = "tiny"
    keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, KEYBOARD)
    keys.open_virtual_port("out")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "duet.toml"
        path.write_text(f'[piano]\ncheckpoint = "{checkpoint}"\n[performer]\nmode = "duet"\n'
                        f'[[songs]]\nseed = "{SEED}"\ntempo = 120\nbars = 200\n', encoding="utf-8")
        show = Show.build(load_setlist(path), PlayOptions(headless=True, realtime=True, seconds=600.0))
    engine = show.engine
    piano = engine.voices["piano"]
    asked: list[tuple[int, float]] = []  # each revision request's number and beat
    answered: dict[int, float] = {}  # request number -> perf time its first re-rendered notes were settled
    revise, settle = piano.revise, engine.revisions.settle

    def revise_timed(from_beat: float, seed: object = None) -> int:
        number = revise(from_beat, seed)  # type: ignore[arg-type]
        asked.append((number, from_beat))
        return number

    def settle_timed(voice: object, notes: list) -> object:
        settled = settle(voice, notes)  # type: ignore[arg-type]
        if voice is piano and settled.fresh:
            now, taken = time.perf_counter(), piano._taken
            for number, beat in asked:
                if number not in answered and number <= taken and any(n.onset_beats >= beat for n in settled.fresh):
                    answered[number] = now
        return settled

    piano.revise = revise_timed  # type: ignore[method-assign]
    engine.revisions.settle = settle_timed  # type: ignore[method-assign]
    surface = ControllerSurface(MidiInput(KEYBOARD, "jack"), load_mapping(DEFAULT_MAPPING))
    sent: list[float] = []

    async def keyboard() -> None:
        try:
            while not engine.playing or engine.playhead() < 4.0:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the surface listens
            generator = random.Random(7)
            for _ in range(count):
                pitch = generator.randrange(60, 73)
                sent.append(time.perf_counter())
                keys.send_message([0x90, pitch, 90])
                await asyncio.sleep(GAP_S * 0.6)
                keys.send_message([0x80, pitch, 0])
                await asyncio.sleep(GAP_S * 0.4)
            await asyncio.sleep(1.0)
        finally:
            show.stop()

    try:
        await asyncio.gather(perform_with_surfaces(show, [surface]), keyboard())
    finally:
        keys.close_port()
        keys.delete()
    numbers = [number for number, _ in asked]
    latencies = [answered[number] - at for number, at in zip(numbers, sent, strict=False) if number in answered]
    return latencies, f"piano {checkpoint}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=NOTES)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, None if args.quick else args.notes), indent=2))


if __name__ == "__main__":
    main()
