"""The streaming decoder emits exactly the notes MidiTok decodes, and tracks bars, meter and tempo."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from miditok import REMI

from encore.models.notes import NoteEvent
from encore.models.piano.grammar import GrammarState, GrammarTables
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder, TokenTable
from encore.models.piano.tokenizer import build_tokenizer

MIDI_FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures").glob("*/*.mid"))
NoteReader = Callable[[Sequence[int]], list[tuple[int, int, int, int]]]  # see conftest.py

# Runs of token kinds that random sequences are made of: whole notes, broken notes, and every
# time token in any order (Positions before Bars, TimeSigs mid-bar, ...).
KIND_RUNS = (
    (Kind.PITCH, Kind.VELOCITY, Kind.DURATION),
    (Kind.PITCH, Kind.VELOCITY, Kind.DURATION),
    (Kind.PITCH_DRUM, Kind.VELOCITY, Kind.DURATION),
    (Kind.PITCH, Kind.VELOCITY),
    (Kind.VELOCITY, Kind.DURATION),
    (Kind.PITCH,),
    (Kind.DURATION,),
    (Kind.BAR,),
    (Kind.BAR, Kind.TIME_SIG),
    (Kind.TIME_SIG,),
    (Kind.POSITION,),
    (Kind.TEMPO,),
    (Kind.PAD,),
    (Kind.BOS,),
    (Kind.EOS,),
)

# MidiTok takes the meter of the whole start from the first TimeSig met before any Pitch, Velocity or
# Duration (re-timing the Bars and Positions read so far); any of these, even a stray one that makes no
# note, closes that window, and then 4/4 holds from the start until a TimeSig changes it from its bar on.
# Random sequences open with tokens that keep the window open (mostly Bars, so that re-timing shows),
# then one run that closes it (each kind MidiTok stops at equally likely, alone or starting a note),
# then (often) a TimeSig and a note, so that each way of closing the window meets a later meter
# change and a note that tells whether the start was re-timed.
WINDOW_KEEPERS = ((Kind.BAR,), (Kind.BAR,), (Kind.BAR,), (Kind.POSITION,), (Kind.TEMPO,), (Kind.PAD,), (Kind.BOS,))
WINDOW_CLOSERS: dict[Kind, tuple[tuple[Kind, ...], ...]] = {  # closing kind: what may follow it in its run
    Kind.TIME_SIG: ((),),
    Kind.DURATION: ((),),
    Kind.VELOCITY: ((), (Kind.DURATION,)),
    Kind.PITCH: ((), (Kind.VELOCITY,), (Kind.VELOCITY, Kind.DURATION)),
    Kind.PITCH_DRUM: ((), (Kind.VELOCITY, Kind.DURATION)),
}
METER_CHANGES = ((), (Kind.TIME_SIG,), (Kind.BAR, Kind.TIME_SIG), (Kind.POSITION, Kind.TIME_SIG))
WITNESSES = (
    (),
    (Kind.PITCH, Kind.VELOCITY, Kind.DURATION),
    (Kind.POSITION, Kind.PITCH, Kind.VELOCITY, Kind.DURATION),
    (Kind.BAR, Kind.POSITION, Kind.PITCH, Kind.VELOCITY, Kind.DURATION),
)

# Strategies and @example need token ids when the module loads, before any fixture exists.
TOKENIZER = build_tokenizer()
IDS_BY_KIND: dict[int, list[int]] = defaultdict(list)
for _id, _kind in enumerate(TokenTable.from_tokenizer(TOKENIZER).kinds):
    IDS_BY_KIND[_kind].append(_id)


def token_ids(remi_tokenizer: REMI, text: str) -> list[int]:
    return [remi_tokenizer.vocab[token] for token in text.split()]


@st.composite
def token_sequences(draw: st.DrawFn) -> list[int]:
    """Random token ids: the initial time-signature window's edge cases, then whole, broken and
    time tokens in any order (Positions before Bars, TimeSigs mid-bar, ...)."""
    runs = draw(st.lists(st.sampled_from(WINDOW_KEEPERS), max_size=6))
    closer = draw(st.sampled_from(list(WINDOW_CLOSERS)))
    runs.append((closer, *draw(st.sampled_from(WINDOW_CLOSERS[closer]))))
    runs += draw(st.lists(st.sampled_from(WINDOW_KEEPERS), max_size=3))
    runs.append(draw(st.sampled_from(METER_CHANGES)))
    runs.append(draw(st.sampled_from(WITNESSES)))
    runs += draw(st.lists(st.sampled_from(KIND_RUNS), max_size=40))
    return [draw(st.sampled_from(IDS_BY_KIND[kind])) for run in runs for kind in run]


@pytest.mark.parametrize("path", MIDI_FIXTURES, ids=lambda path: path.name)
def test_real_files_decode_like_miditok(
    path: Path, real_sequences: dict[str, list[int]], miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    ids = real_sequences[path.name]
    expected = miditok_notes(ids)
    assert len(expected) > 100
    assert streamed_notes(ids) == expected


def test_start_offset_shifts_every_time(
    token_table: TokenTable, real_sequences: dict[str, list[int]]
) -> None:
    ids = real_sequences["001.mid"][:400]
    plain, shifted = StreamingDecoder(token_table), StreamingDecoder(token_table, start_beats=7.5)
    for token_id in ids:
        for a, b in zip(plain.feed(token_id), shifted.feed(token_id), strict=True):
            assert b == NoteEvent(a.onset_beats + 7.5, a.pitch, a.velocity, a.duration_beats)
        assert shifted.position_beats == plain.position_beats + 7.5
        assert shifted.bar_start_beats == plain.bar_start_beats + 7.5


def test_musical_state_across_meters(remi_tokenizer: REMI, token_table: TokenTable) -> None:
    decoder = StreamingDecoder(token_table)
    assert (decoder.bar_index, decoder.time_signature, decoder.tempo_bpm) == (-1, (4, 4), None)
    notes = decoder.feed_many(
        token_ids(
            remi_tokenizer, "Bar_None TimeSig_3/4 Position_8 Tempo_121.29 Pitch_60 Velocity_63 Duration_1.0.8"
        )
    )
    assert notes == [NoteEvent(1.0, 60, 63, 1.0)]
    assert (decoder.bar_index, decoder.bar_start_beats, decoder.position_beats) == (0, 0.0, 1.0)
    assert (decoder.time_signature, decoder.tempo_bpm, decoder.bar_length_beats) == ((3, 4), 121.29, 3.0)

    # In 6/8 a position is a 32nd note and a Duration beat is an eighth note.
    notes = decoder.feed_many(
        token_ids(remi_tokenizer, "Bar_None TimeSig_6/8 Position_8 Pitch_64 Velocity_63 Duration_1.0.8")
    )
    assert notes == [NoteEvent(3.5, 64, 63, 0.5)]
    assert (decoder.bar_index, decoder.bar_start_beats, decoder.time_signature) == (1, 3.0, (6, 8))
    decoder.feed_many(token_ids(remi_tokenizer, "Bar_None TimeSig_6/8"))
    assert (decoder.bar_index, decoder.bar_start_beats, decoder.position_beats) == (2, 6.0, 6.0)

    decoder.reset(start_beats=2.0)
    assert (decoder.bar_index, decoder.position_beats, decoder.tempo_bpm) == (-1, 2.0, None)


def test_first_time_signature_applies_from_the_start(
    remi_tokenizer: REMI, token_table: TokenTable, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    ids = token_ids(
        remi_tokenizer, "Bar_None Bar_None Position_4 TimeSig_6/8 Pitch_60 Velocity_63 Duration_1.0.8"
    )
    decoder = StreamingDecoder(token_table)
    decoder.feed_many(ids[:3])
    assert decoder.position_beats == 4.5  # 4/4 assumed so far
    decoder.feed_many(ids[3:])
    assert (decoder.position_beats, decoder.bar_start_beats) == (3.25, 3.0)  # re-timed as 6/8
    assert streamed_notes(ids) == miditok_notes(ids) == [(52, 60, 63, 8)]


@pytest.mark.parametrize(
    ("text", "notes"),
    [
        ("Position_3 Pitch_60 Velocity_63 Duration_1.0.8", [(6, 60, 63, 16)]),  # bar 0 without a Bar
        ("Bar_None Position_2 Pitch_60 Pitch_62 Velocity_63 Duration_1.0.8", [(4, 62, 63, 16)]),
        ("Bar_None Position_2 Pitch_60 Velocity_63 Pitch_62 Velocity_63 Duration_1.0.8", [(4, 62, 63, 16)]),
        ("Bar_None Position_2 Pitch_60 Velocity_63 Tempo_40.0 Duration_1.0.8", []),
        ("Bar_None Position_2 Pitch_60 Duration_1.0.8 Velocity_63 Duration_1.0.8", []),
        (
            "Bar_None Position_9 Pitch_60 Velocity_63 Duration_1.0.8 Position_1 PitchDrum_40 Velocity_6 Duration_0.1.8",
            [(2, 40, 6, 2), (18, 60, 63, 16)],
        ),
    ],
)
def test_broken_and_odd_notes_follow_miditok(
    remi_tokenizer: REMI, text: str, notes: list, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    ids = token_ids(remi_tokenizer, text)
    assert miditok_notes(ids) == notes
    assert streamed_notes(ids) == notes


# What closes the initial time-signature window, with MidiTok's onsets (16 ticks per quarter).
WINDOW_CASES = [
    # A lone Duration closes it: 4/4 holds for bar 0, 6/8 starts at bar 1 (64), not re-timed (48).
    ("Bar_None Duration_1.0.8 Bar_None TimeSig_6/8 Position_4 Pitch_60 Velocity_63 Duration_1.0.8", [(68, 60, 63, 8)]),
    ("Position_4 Duration_2.0.8 TimeSig_6/8 Pitch_60 Velocity_63 Duration_1.0.8", [(8, 60, 63, 8)]),
    ("Bar_None Bar_None Velocity_63 TimeSig_12/8 Position_0 Pitch_60 Velocity_63 Duration_1.0.8", [(64, 60, 63, 8)]),
    ("Bar_None Pitch_60 Bar_None TimeSig_3/4 Bar_None Position_2 Pitch_62 Velocity_63 Duration_1.0.8", [(116, 62, 63, 16)]),
    # A note whose Duration runs past the bar and the meter change after it.
    (
        "Bar_None Position_2 Pitch_60 Velocity_63 Duration_4.0.4 TimeSig_6/8 Bar_None Position_4 Pitch_62 Velocity_63 Duration_1.0.8",
        [(4, 60, 63, 64), (52, 62, 63, 8)],
    ),
    # The window is open until the first TimeSig: 5/4 from the start, then 3/8 from bar 1 on.
    (
        "Bar_None Tempo_121.29 Bar_None TimeSig_5/4 Duration_1.0.8 TimeSig_3/8 Bar_None Position_1 Pitch_60 Velocity_63 Duration_1.0.8",
        [(105, 60, 63, 8)],
    ),
]


@pytest.mark.parametrize(("text", "notes"), WINDOW_CASES)
def test_what_closes_the_initial_time_signature_window(
    remi_tokenizer: REMI, text: str, notes: list, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    ids = token_ids(remi_tokenizer, text)
    assert miditok_notes(ids) == notes
    assert streamed_notes(ids) == notes


def test_every_way_to_close_the_initial_window_decodes_like_miditok(
    remi_tokenizer: REMI, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    """All openings of: time tokens, one thing that may close the window, time tokens, a meter, a note."""
    openings = ("", "Bar_None", "Bar_None Bar_None", "Position_4", "Bar_None Bar_None Position_4 Tempo_40.0")
    closers = (
        "",
        "Duration_1.0.8",
        "Velocity_63",
        "Velocity_63 Duration_1.0.8",
        "Pitch_60",
        "PitchDrum_40",
        "Pitch_60 Velocity_63",
        "Pitch_60 Velocity_63 Duration_12.0.4",  # lasts past the bar and the meter change
        "TimeSig_4/4",
        "TimeSig_3/4",
    )
    between = ("", "Bar_None", "Position_2")
    meters = [f"TimeSig_{n}/{d}" for n, d in TokenTable.from_tokenizer(remi_tokenizer).time_signatures]
    witnesses = (
        "Pitch_62 Velocity_63 Duration_1.0.8",
        "Position_4 Pitch_62 Velocity_63 Duration_1.0.8",
        "Bar_None Position_1 Pitch_62 Velocity_63 Duration_1.0.8",
    )
    wrong = [
        text
        for parts in itertools.product(openings, closers, between, meters, witnesses)
        if streamed_notes(ids := token_ids(remi_tokenizer, text := " ".join(p for p in parts if p)))
        != miditok_notes(ids)
    ]
    assert not wrong, f"{len(wrong)} openings decode unlike MidiTok, e.g. {wrong[:3]}"


@settings(max_examples=300, deadline=None)
@given(ids=token_sequences())
@example(ids=token_ids(TOKENIZER, WINDOW_CASES[0][0]))
@example(ids=token_ids(TOKENIZER, WINDOW_CASES[2][0]))
def test_random_sequences_decode_like_miditok(
    ids: list[int], miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    assert streamed_notes(ids) == miditok_notes(ids)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_grammatical_sequences_decode_like_miditok(
    data: st.DataObject,
    grammar_tables: GrammarTables,
    miditok_notes: NoteReader,
    streamed_notes: NoteReader,
) -> None:
    grammar = GrammarState(grammar_tables)
    ids = []
    for _ in range(data.draw(st.integers(1, 120))):
        token_id = data.draw(st.sampled_from(grammar.allowed().nonzero()[:, 0].tolist()))
        grammar.advance(token_id)
        ids.append(token_id)
    assert streamed_notes(ids) == miditok_notes(ids)


def test_a_restored_state_decodes_on_as_before(token_table: TokenTable, real_sequences: dict[str, list[int]]) -> None:
    """Every field the decoder keeps comes back: from any point, a restored decoder emits the same notes."""
    for ids in real_sequences.values():
        decoder = StreamingDecoder(token_table, start_beats=3.0)
        states, emitted = [], []
        for token_id in ids[:800]:
            states.append(decoder.state())
            emitted.append(decoder.feed(token_id))
        for cut in range(0, len(states), 37):
            decoder.restore(states[cut])
            assert [decoder.feed(token_id) for token_id in ids[cut:800]] == emitted[cut:]


def test_a_position_awaits_its_note_until_the_duration_or_the_next_bar(
    remi_tokenizer: REMI, token_table: TokenTable
) -> None:
    """`awaiting_note` is what keeps a render from stopping between a Position and its note."""
    vocab = remi_tokenizer.vocab
    decoder = StreamingDecoder(token_table)
    steps = [("Bar_None", False), ("Position_4", True), ("Pitch_60", True), ("Velocity_63", True),
             ("Duration_1.0.8", False), ("Position_8", True), ("Bar_None", False)]
    for token, awaiting in steps:
        decoder.feed(vocab[token])
        assert decoder.awaiting_note is awaiting, token
    decoder.feed(vocab["Position_0"])
    state = decoder.state()
    decoder.feed_many([vocab["Pitch_60"], vocab["Velocity_63"], vocab["Duration_1.0.8"]])
    decoder.restore(state)
    assert decoder.awaiting_note
