"""The MidiTok internals `miditok_adapter` reads: pinned for our tokenizer config and checked against
MidiTok's public decode.

A failure here after a MidiTok upgrade names what changed: fix `models/piano/miditok_adapter.py` (the
only module that reads them), then these expectations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import version

import pytest
from miditok import REMI

from encore.models.piano import miditok_adapter as mt
from encore.models.piano.streaming_decoder import StreamingDecoder, TokenTable

NoteReader = Callable[[Sequence[int]], list[tuple[int, int, int, int]]]  # see conftest.py
INSTALLED = version("miditok")

# Our REMI+ config (models/piano/tokenizer.py) under MidiTok 3.1.0.
TIME_SIGNATURES = {(3, 8), (12, 8), (6, 8), (5, 4), (6, 4), (3, 4), (2, 4), (1, 4), (4, 4)}
TICKS_PER_QUARTER = 16
TICKS_PER_BEAT = {4: 16, 8: 8}  # by time-signature denominator
TICKS_PER_POSITION = {16: 2, 8: 1}  # by ticks per beat: 8 positions per beat
TICKS_PER_BAR = {
    (4, 4): 64, (3, 4): 48, (5, 4): 80, (6, 4): 96, (2, 4): 32, (1, 4): 16, (6, 8): 48, (3, 8): 24, (12, 8): 96
}
DURATION_TICKS = {  # (ticks per beat, Duration value) -> ticks; values are beat.position.resolution
    (16, "1.0.8"): 16,
    (16, "0.1.8"): 2,
    (16, "3.7.8"): 62,
    (16, "4.2.4"): 72,
    (16, "12.0.4"): 192,
    (8, "1.0.8"): 8,
    (8, "0.1.8"): 1,
    (8, "4.2.4"): 36,
}


def changed(what: str, detail: str) -> str:
    return (
        f"MidiTok {INSTALLED} changed {what} (miditok_adapter was written against {mt.MIDITOK_VERSION}): "
        f"{detail}. Update models/piano/miditok_adapter.py, the one module that reads MidiTok internals."
    )


def token_ids(remi_tokenizer: REMI, text: str) -> list[int]:
    return [remi_tokenizer.vocab[token] for token in text.split()]


def test_installed_miditok_is_the_checked_release() -> None:
    assert INSTALLED == mt.MIDITOK_VERSION, (
        f"miditok {INSTALLED} is installed but miditok_adapter was checked against {mt.MIDITOK_VERSION} "
        "(pinned in pyproject.toml): run this file, fix what it reports, then bump MIDITOK_VERSION"
    )


@pytest.mark.parametrize(
    ("attribute", "kind"),
    [
        ("_tpb_per_ts", dict),
        ("_tpb_tokens_to_ticks", dict),
        ("_parse_token_time_signature", Callable),
        ("_compute_ticks_per_pos", Callable),
        ("time_signatures", list),
        ("time_division", int),
    ],
)
def test_private_attributes_exist(remi_tokenizer: REMI, attribute: str, kind: type) -> None:
    assert hasattr(remi_tokenizer, attribute), changed(f"REMI.{attribute}", "the attribute is gone")
    value = getattr(remi_tokenizer, attribute)
    assert isinstance(value, kind), changed(
        f"REMI.{attribute}", f"expected a {kind.__name__}, got {type(value).__name__}"
    )


def test_private_structures_have_the_expected_shape(remi_tokenizer: REMI) -> None:
    tpb = remi_tokenizer._tpb_per_ts
    assert all(isinstance(k, int) and isinstance(v, int) for k, v in tpb.items()), changed(
        "REMI._tpb_per_ts", f"expected {{denominator: ticks per beat}} ints, got {tpb!r}"
    )
    assert tpb == TICKS_PER_BEAT, changed("REMI._tpb_per_ts", f"expected {TICKS_PER_BEAT}, got {tpb}")

    table = remi_tokenizer._tpb_tokens_to_ticks
    assert set(table) == set(TICKS_PER_BEAT.values()), changed(
        "REMI._tpb_tokens_to_ticks", f"expected keys {set(TICKS_PER_BEAT.values())}, got {set(table)}"
    )
    durations = {t.split("_")[1] for t in remi_tokenizer.vocab if t.startswith("Duration_")}
    for beat, ticks in table.items():
        assert isinstance(ticks, dict) and set(ticks) == durations, changed(
            "REMI._tpb_tokens_to_ticks", f"[{beat}] should map every Duration token value to ticks"
        )
        assert all(isinstance(v, int) and v > 0 for v in ticks.values()), changed(
            "REMI._tpb_tokens_to_ticks", f"[{beat}] should hold positive int ticks"
        )

    signatures = remi_tokenizer.time_signatures
    assert all(isinstance(ts, tuple) and len(ts) == 2 for ts in signatures), changed(
        "REMI.time_signatures", f"expected (numerator, denominator) tuples, got {signatures!r}"
    )


def test_adapter_values_for_our_config(remi_tokenizer: REMI) -> None:
    assert set(mt.time_signatures(remi_tokenizer)) == TIME_SIGNATURES, changed(
        "REMI.time_signatures", f"got {mt.time_signatures(remi_tokenizer)}"
    )
    assert mt.default_time_signature() == (4, 4), changed("miditok.constants.TIME_SIGNATURE", "not 4/4")
    assert mt.ticks_per_quarter(remi_tokenizer) == TICKS_PER_QUARTER, changed("REMI.time_division", "")
    assert mt.parse_time_signature(remi_tokenizer, "12/8") == (12, 8), changed(
        "REMI._parse_token_time_signature", "'12/8' no longer parses to (12, 8)"
    )
    for den, beat in TICKS_PER_BEAT.items():
        assert mt.ticks_per_beat(remi_tokenizer, den) == beat, changed("REMI._tpb_per_ts", f"[{den}]")
    for beat, position in TICKS_PER_POSITION.items():
        assert mt.ticks_per_position(remi_tokenizer, beat) == position, changed(
            "REMI._compute_ticks_per_pos", f"({beat}) should be {position}"
        )
    for ts, bar in TICKS_PER_BAR.items():
        assert mt.ticks_per_bar(ts, TICKS_PER_QUARTER) == bar, changed(
            "miditok.utils.compute_ticks_per_bar", f"{ts} should be {bar} ticks"
        )
    for (beat, value), ticks in DURATION_TICKS.items():
        assert mt.duration_ticks(remi_tokenizer, beat, value) == ticks, changed(
            "REMI._tpb_tokens_to_ticks", f"[{beat}][{value!r}] should be {ticks}"
        )

    pairs = mt.vocabulary(remi_tokenizer)
    assert len(pairs) == len(remi_tokenizer.vocab) == 376, changed("REMI.vocab", f"{len(pairs)} tokens")
    assert pairs[:3] == [("PAD", "None"), ("BOS", "None"), ("EOS", "None")], changed(
        "REMI.vocab", f"the special tokens are not ids 0-2: {pairs[:3]}"
    )
    assert [remi_tokenizer.vocab[f"{t}_{v}"] for t, v in pairs] == list(range(len(pairs))), changed(
        "REMI.vocab", "ids are not 0..len-1 in order"
    )


@pytest.mark.parametrize("ts", sorted(TIME_SIGNATURES))
def test_adapter_numbers_equal_what_public_decode_does(remi_tokenizer: REMI, ts: tuple[int, int]) -> None:
    """Per time signature, every Duration, a Position step and a bar length, through `decode`."""
    tpq = mt.ticks_per_quarter(remi_tokenizer)
    beat = mt.ticks_per_beat(remi_tokenizer, ts[1])
    values = [v for t, v in mt.vocabulary(remi_tokenizer) if t == "Duration"]
    text = f"Bar_None TimeSig_{ts[0]}/{ts[1]} Position_1 "
    text += " ".join(f"Pitch_60 Velocity_63 Duration_{v}" for v in values)
    text += " Bar_None Position_0 Pitch_61 Velocity_63 Duration_1.0.8"
    score = remi_tokenizer.decode([token_ids(remi_tokenizer, text)])
    assert score.ticks_per_quarter == tpq, changed("REMI.time_division", f"decode uses {score.ticks_per_quarter}")
    notes = [(n.time, n.pitch, n.duration) for track in score.tracks for n in track.notes]

    step = mt.ticks_per_position(remi_tokenizer, beat)
    expected = sorted((step, 60, mt.duration_ticks(remi_tokenizer, beat, v)) for v in values)
    assert sorted(n for n in notes if n[1] == 60) == expected, changed(
        "decoding of Position/Duration", f"under {ts[0]}/{ts[1]} the adapter's ticks differ from decode's"
    )
    assert [n[0] for n in notes if n[1] == 61] == [mt.ticks_per_bar(ts, tpq)], changed(
        "decoding of Bar", f"a {ts[0]}/{ts[1]} bar is not {mt.ticks_per_bar(ts, tpq)} ticks in decode"
    )


def test_fixture_round_trip_through_the_adapter(
    remi_tokenizer: REMI, real_sequences: dict[str, list[int]], miditok_notes: NoteReader
) -> None:
    """A real file decoded by the streaming decoder (tables from the adapter) equals MidiTok's decode."""
    ids = real_sequences["chpn-p7.mid"]
    table = TokenTable.from_tokenizer(remi_tokenizer)
    tpq = table.ticks_per_quarter
    streamed = sorted(
        (round(n.onset_beats * tpq), n.pitch, n.velocity, round(n.duration_beats * tpq))
        for n in StreamingDecoder(table).feed_many(ids)
    )
    expected = miditok_notes(ids)
    assert len(expected) > 100
    assert streamed == expected, changed("REMI decoding", "the streaming decoder no longer matches decode()")
