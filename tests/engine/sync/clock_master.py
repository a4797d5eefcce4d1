"""A MIDI clock master for the JACK tests, in a process of its own (so its timing owes nothing to the
test's GIL): `python clock_master.py PORT LEAD_IN_S BPM:BEATS [BPM:BEATS ...]`.

It opens the JACK port `encore-test-master:PORT`, prints `ready`, waits for a line on stdin, ticks at
the first tempo for LEAD_IN_S (a master ticking while stopped), sends Start, each tempo for its beats
and Stop, then prints one JSON line: the send times (`time.perf_counter`) of Start, of every tick
after it, of the first tick at the second tempo, and of Stop, and how many ticks came before Start.
"""

from __future__ import annotations

import json
import sys
import time

import rtmidi

CLOCK, START, STOP = 0xF8, 0xFA, 0xFC
TICKS_PER_BEAT = 24


def send_at(out: rtmidi.MidiOut, due: float, status: int) -> float:
    """Send `status` at `due` (sleep, then spin the last 2 ms); returns when it was sent."""
    while (left := due - time.perf_counter()) > 0.002:
        time.sleep(left - 0.002)
    while time.perf_counter() < due:
        pass
    out.send_message([status])
    return time.perf_counter()


def main() -> None:
    port, lead_in_s = sys.argv[1], float(sys.argv[2])
    parts = [(float(bpm), int(beats)) for bpm, beats in (part.split(":") for part in sys.argv[3:])]
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "encore-test-master")
    out.open_virtual_port(port)
    print("ready", flush=True)
    sys.stdin.readline()
    due = time.perf_counter()
    lead_in_end = due + lead_in_s
    lead_in = 0
    while due < lead_in_end:
        send_at(out, due, CLOCK)
        lead_in += 1
        due += 60 / (parts[0][0] * TICKS_PER_BEAT)
    start = send_at(out, due - 0.002, START)
    ticks, change = [], None
    for number, (bpm, beats) in enumerate(parts):
        for tick in range(beats * TICKS_PER_BEAT):
            ticks.append(send_at(out, due, CLOCK))
            if number == 1 and tick == 0:
                change = ticks[-1]
            due += 60 / (bpm * TICKS_PER_BEAT)
    stop = send_at(out, due, STOP)
    time.sleep(0.1)
    out.close_port()
    print(json.dumps({"start": start, "ticks": ticks, "change": change, "stop": stop, "lead_in": lead_in}), flush=True)


if __name__ == "__main__":
    main()
