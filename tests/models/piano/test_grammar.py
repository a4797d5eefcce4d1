"""Sampling under the grammar mask always gives well-formed REMI+, and real data always passes it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
import torch
from miditok import REMI

from encore.models.piano.grammar import BatchGrammar, GrammarConfig, GrammarState, GrammarTables, Phase
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder, TokenTable

NoteReader = Callable[[Sequence[int]], list[tuple[int, int, int, int]]]  # see conftest.py


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Sampling is many small ops: one thread is faster on a small shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def token_ids(remi_tokenizer: REMI, text: str) -> list[int]:
    return [remi_tokenizer.vocab[token] for token in text.split()]


def allowed_tokens(remi_tokenizer: REMI, grammar: GrammarState, prefix: str) -> set[str]:
    names = {i: token for token, i in remi_tokenizer.vocab.items()}
    return {names[i] for i in grammar.allowed().nonzero()[:, 0].tolist() if names[i].startswith(prefix)}


def sample(
    grammar: BatchGrammar, steps: int, logits_of: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Sample (B, steps) tokens; `logits_of` maps the previous tokens (B,) to logits (B, vocab).

    Gumbel-max sampling: twice as fast as softmax + multinomial on CPU, same distribution.
    """
    generator = torch.Generator().manual_seed(0)
    previous = torch.zeros(grammar.states.shape[0], dtype=torch.long)
    tokens = []
    for _ in range(steps):
        logits = grammar.mask_logits(logits_of(previous))
        gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator)))
        previous = (logits + gumbel).argmax(dim=-1)
        grammar.advance(previous)
        tokens.append(previous)
    return torch.stack(tokens, dim=1)


def assert_well_formed(
    ids: list[int], token_table: TokenTable, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    """MidiTok decodes every note the tokens spell out, as the streaming decoder does, in time order."""
    expected = miditok_notes(ids)  # never raises
    assert streamed_notes(ids) == expected
    durations = sum(token_table.kinds[i] == Kind.DURATION for i in ids)
    assert len(expected) == durations  # no Pitch, Velocity or Duration is left dangling
    decoder, onset = StreamingDecoder(token_table), 0.0
    for token_id in ids:
        for note in decoder.feed(token_id):
            assert onset <= note.onset_beats < decoder.bar_start_beats + decoder.bar_length_beats
            onset = note.onset_beats


def test_every_state_allows_something(grammar_tables: GrammarTables) -> None:
    assert bool(grammar_tables.masks.any(dim=1).all())


def test_special_tokens_only_where_they_belong(
    grammar_tables: GrammarTables, token_table: TokenTable
) -> None:
    masks, kinds = grammar_tables.masks, torch.tensor(token_table.kinds)
    phases = torch.arange(grammar_tables.num_states) // (grammar_tables.num_states // len(Phase))
    assert not masks[:, kinds == Kind.EOS].any()  # the live engine never ends a stream
    assert not masks[:, kinds == Kind.PITCH_DRUM].any()
    assert torch.equal(masks[:, kinds == Kind.BOS].any(dim=1), phases == Phase.START)
    assert torch.equal(masks[:, kinds == Kind.PAD].any(dim=1), phases == Phase.END)


def test_real_data_is_always_allowed(
    grammar_tables: GrammarTables, real_sequences: dict[str, list[int]]
) -> None:
    grammar = GrammarState(grammar_tables)
    for name, ids in real_sequences.items():
        grammar.reset()
        for step, token_id in enumerate(ids):
            assert grammar.allows(token_id), f"{name}: token {step} forbidden"
            grammar.advance(token_id)


def test_positions_move_forward_inside_the_bar(remi_tokenizer: REMI, token_table: TokenTable) -> None:
    prompt = token_ids(remi_tokenizer, "Bar_None TimeSig_3/4 Position_5 Pitch_60 Velocity_63 Duration_1.0.8")
    for repeat, first in ((False, 6), (True, 5)):
        grammar = GrammarState(GrammarTables(token_table, GrammarConfig(allow_repeated_position=repeat)))
        grammar.advance_many(prompt)
        assert allowed_tokens(remi_tokenizer, grammar, "Position") == {
            f"Position_{p}" for p in range(first, 24)
        }
    grammar.advance_many(token_ids(remi_tokenizer, "Bar_None"))
    assert allowed_tokens(remi_tokenizer, grammar, "") == {
        f"TimeSig_{n}/{d}" for n, d in token_table.time_signatures
    }
    grammar.advance_many(token_ids(remi_tokenizer, "TimeSig_12/8"))
    assert len(allowed_tokens(remi_tokenizer, grammar, "Position")) == 96


def test_repeated_position_quirk_is_opt_in(
    remi_tokenizer: REMI, token_table: TokenTable, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    # MidiTok writes this for a few mixed-meter pieces (e.g. piano-midi.de liz_donjuan.mid).
    ids = token_ids(
        remi_tokenizer,
        "Bar_None TimeSig_4/4 Position_22 Tempo_40.0 Position_22 Pitch_60 Velocity_63 Duration_1.0.8",
    )
    assert streamed_notes(ids) == miditok_notes(ids) == [(44, 60, 63, 16)]
    for repeat in (False, True):
        grammar = GrammarState(GrammarTables(token_table, GrammarConfig(allow_repeated_position=repeat)))
        grammar.advance_many(ids[:4])
        assert grammar.allows(ids[4]) is repeat


def test_a_prompt_starting_mid_bar_primes_the_state(
    remi_tokenizer: REMI, grammar_tables: GrammarTables
) -> None:
    grammar = GrammarState(grammar_tables)
    grammar.advance_many(token_ids(remi_tokenizer, "Velocity_63 Duration_1.0.8 Position_3 Pitch_62"))
    assert allowed_tokens(remi_tokenizer, grammar, "") == {
        t for t in remi_tokenizer.vocab if t.startswith("Velocity")
    }
    grammar.advance_many(token_ids(remi_tokenizer, "Velocity_63 Duration_1.0.8"))
    assert allowed_tokens(remi_tokenizer, grammar, "Position") == {f"Position_{p}" for p in range(4, 32)}


def test_batch_follows_single_streams(
    grammar_tables: GrammarTables, real_sequences: dict[str, list[int]]
) -> None:
    sequences = [
        ids[offset : offset + 300]
        for ids, offset in zip(real_sequences.values(), range(0, 900, 100), strict=False)
    ]
    singles = [GrammarState(grammar_tables) for _ in sequences]
    for single, ids in zip(singles, sequences, strict=True):
        single.advance_many(ids[:100])
    batch = BatchGrammar.from_states(grammar_tables, singles)
    for step in range(100, 300):
        column = torch.tensor([ids[step] for ids in sequences])
        assert torch.equal(batch.allowed(), torch.stack([single.allowed() for single in singles]))
        batch.advance(column)
        for single, token_id in zip(singles, column.tolist(), strict=True):
            single.advance(token_id)
    assert batch.states.tolist() == [single.state for single in singles]
    batch.reset()
    assert set(batch.states.tolist()) == {grammar_tables.start_state}
    batch.advance_many(torch.tensor([ids[:300] for ids in sequences]))  # a whole prompt per stream at once
    assert batch.states.tolist() == [single.state for single in singles]


def test_samples_from_random_logits_are_well_formed(
    grammar_tables: GrammarTables,
    token_table: TokenTable,
    miditok_notes: NoteReader,
    streamed_notes: NoteReader,
) -> None:
    torch.manual_seed(1)
    batch, vocab = 1000, token_table.vocab_size
    # Each stream favours some token kinds over others, so that some have many bars, some many tempos.
    kind_bias = torch.randn(batch, len(Kind)) * 3
    bias = kind_bias[:, torch.tensor(token_table.kinds)]
    tokens = sample(BatchGrammar(grammar_tables, batch), 128, lambda _: torch.randn(batch, vocab) * 2 + bias)
    for ids in tokens.tolist():
        assert_well_formed(ids, token_table, miditok_notes, streamed_notes)


def test_samples_from_a_small_model_are_well_formed(
    grammar_tables: GrammarTables,
    token_table: TokenTable,
    miditok_notes: NoteReader,
    streamed_notes: NoteReader,
) -> None:
    torch.manual_seed(2)
    model = torch.nn.Sequential(
        torch.nn.Embedding(token_table.vocab_size, 16), torch.nn.Linear(16, token_table.vocab_size)
    )
    with torch.inference_mode():
        tokens = sample(BatchGrammar(grammar_tables, 1000), 96, lambda previous: model(previous) * 4)
    for ids in tokens.tolist():
        assert_well_formed(ids, token_table, miditok_notes, streamed_notes)


@pytest.mark.parametrize("allow_bos", [False, True])
def test_streams_that_may_end_end_cleanly(
    allow_bos: bool, token_table: TokenTable, miditok_notes: NoteReader, streamed_notes: NoteReader
) -> None:
    tables = GrammarTables(token_table, GrammarConfig(allow_eos=True, allow_bos=allow_bos))
    kinds = torch.tensor(token_table.kinds)
    eos_bias = torch.where(kinds == Kind.EOS, 4.0, 0.0)
    tokens = sample(
        BatchGrammar(tables, 300), 64, lambda previous: torch.randn(300, token_table.vocab_size) + eos_bias
    )
    ended = 0
    for ids in tokens.tolist():
        assert (token_table.kinds[ids[0]] == Kind.BOS) <= allow_bos
        if Kind.EOS in (seq_kinds := [token_table.kinds[i] for i in ids]):
            ended += 1
            assert set(seq_kinds[seq_kinds.index(Kind.EOS) + 1 :]) <= {Kind.PAD}
        assert_well_formed(ids, token_table, miditok_notes, streamed_notes)
    assert ended > 100
