"""The engine benchmark's JACK loopback matching: pairs by key and nearest time, losses counted,
nothing received a failure rather than 0 ms. No jackd needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks.bench_engine import MATCH_WINDOW_S, loopback_rows, match_arrivals  # noqa: E402

C4, E4, G4 = (0, 60), (0, 64), (0, 67)


def test_a_lost_note_costs_one_pair_not_every_later_one() -> None:
    sent = [(C4, 0.0), (E4, 0.125), (G4, 0.25), (C4, 0.5), (E4, 0.625)]
    received = [(C4, 0.002), (G4, 0.252), (C4, 0.502), (E4, 0.627)]  # E4 at 0.125 never arrives
    matching = match_arrivals(sent, received)
    assert matching.lost == 1 and matching.unmatched == 0
    assert matching.latencies_s == pytest.approx([0.002] * 4)


def test_arrivals_pair_with_the_same_key_nearest_in_time_even_out_of_order() -> None:
    sent = [(C4, 0.0), (E4, 0.0), (C4, 0.25)]
    received = [(E4, 0.004), (C4, 0.253), (C4, 0.001)]
    matching = match_arrivals(sent, received)
    assert matching.lost == 0
    assert matching.latencies_s == pytest.approx([0.001, 0.004, 0.003])


def test_an_arrival_outside_the_window_or_on_another_channel_matches_nothing() -> None:
    sent = [(C4, 0.0)]
    received = [((1, 60), 0.001), (C4, MATCH_WINDOW_S + 0.05)]
    matching = match_arrivals(sent, received)
    assert (matching.lost, matching.unmatched, matching.latencies_s) == (1, 2, [])


def test_nothing_received_is_a_failed_row_not_zero() -> None:
    sent = [(C4, 0.0), (E4, 0.1)]
    rows = {row["name"]: row for row in loopback_rows(match_arrivals(sent, []), len(sent), "test")}
    assert rows["jack_loopback_p50"]["value"] is None and rows["jack_loopback_p50"]["note"].startswith("FAILED")
    assert rows["jack_loopback_p99"]["value"] is None
    assert rows["jack_loopback_lost"]["value"] == 2


def test_loopback_rows_report_percentiles_in_ms_and_losses() -> None:
    sent = [(C4, i * 0.25) for i in range(10)]
    received = [(C4, i * 0.25 + 0.003) for i in range(9)]
    rows = {row["name"]: row for row in loopback_rows(match_arrivals(sent, received), len(sent), "test")}
    assert rows["jack_loopback_p50"]["value"] == pytest.approx(3.0)
    assert rows["jack_loopback_lost"]["value"] == 1
    assert "9 of 10" in rows["jack_loopback_p50"]["note"]
