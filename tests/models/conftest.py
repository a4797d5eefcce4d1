"""Shared fixtures for the decoder and grammar tests: the tokenizer, real sequences, note readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import symusic
from miditok import REMI, TokSequence

from encore.models.piano.grammar import GrammarTables
from encore.models.piano.streaming_decoder import StreamingDecoder, TokenTable
from encore.models.piano.tokenizer import build_tokenizer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MIDI_FIXTURES = sorted(FIXTURES.glob("*/*.mid"))

# A note as (onset tick, pitch, velocity, duration ticks), ticks at the tokenizer's time division.
TickNote = tuple[int, int, int, int]
NoteReader = Callable[[Sequence[int]], list[TickNote]]


def tokenize_file(tokenizer: REMI, path: Path) -> list[int]:
    """Token ids of a MIDI file as the pipeline makes them: every track merged into one (program 0)."""
    score = symusic.Score(path)
    merged = symusic.Track(program=0)
    for track in score.tracks:
        merged.notes.extend(track.notes)
    score.tracks = [merged]
    tokens = tokenizer(score)
    sequence = tokens[0] if isinstance(tokens, list) else tokens
    assert isinstance(sequence, TokSequence)
    return list(sequence.ids)


@pytest.fixture(scope="session")
def remi_tokenizer() -> REMI:
    return build_tokenizer()


@pytest.fixture(scope="session")
def token_table(remi_tokenizer: REMI) -> TokenTable:
    return TokenTable.from_tokenizer(remi_tokenizer)


@pytest.fixture(scope="session")
def grammar_tables(token_table: TokenTable) -> GrammarTables:
    return GrammarTables(token_table)


@pytest.fixture(scope="session")
def real_sequences(remi_tokenizer: REMI) -> dict[str, list[int]]:
    """Token ids of every MIDI fixture, by file name."""
    return {path.name: tokenize_file(remi_tokenizer, path) for path in MIDI_FIXTURES}


@pytest.fixture(scope="session")
def miditok_notes(remi_tokenizer: REMI) -> NoteReader:
    """Notes MidiTok's own decode gives for a whole sequence, sorted."""

    def read(ids: Sequence[int]) -> list[TickNote]:
        score = remi_tokenizer.decode([list(ids)])
        assert score.ticks_per_quarter == remi_tokenizer.time_division
        notes = [(n.time, n.pitch, n.velocity, n.duration) for track in score.tracks for n in track.notes]
        return sorted(notes)

    return read


@pytest.fixture(scope="session")
def streamed_notes(token_table: TokenTable) -> NoteReader:
    """Notes the streaming decoder emits token by token, converted back to exact ticks, sorted."""

    def read(ids: Sequence[int]) -> list[TickNote]:
        decoder = StreamingDecoder(token_table)
        notes = []
        tpq = token_table.ticks_per_quarter
        for token_id in ids:
            for note in decoder.feed(token_id):
                onset, duration = note.onset_beats * tpq, note.duration_beats * tpq
                assert onset.is_integer() and duration.is_integer(), note
                notes.append((int(onset), note.pitch, note.velocity, int(duration)))
        return sorted(notes)

    return read
