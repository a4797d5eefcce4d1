"""The live piano stream: primed from real seeds, grammatical, timed, reproducible, never restarting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encore.models.errors import SeedError
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.sampling import SamplingConfig
from encore.models.piano.stream import PianoStream

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def bundle() -> PianoBundle:
    return PianoBundle.random("tiny")


def test_priming_returns_the_seed_and_starts_on_a_bar_line(bundle: PianoBundle) -> None:
    stream = PianoStream(bundle, seed=0)
    seed_notes = stream.prime_midi(FIXTURES / "piano_midi_de" / "chpn-p7.mid")
    assert len(seed_notes) > 100
    assert stream.position_beats >= max(n.onset_beats for n in seed_notes)
    assert stream.decoders[0].bar_start_beats == stream.position_beats


def test_generated_notes_move_forward_and_are_valid(bundle: PianoBundle) -> None:
    stream = PianoStream(bundle, SamplingConfig(temperature=1.2), seed=1)
    stream.prime_midi(FIXTURES / "pop909" / "001.mid")
    start = stream.position_beats
    notes = stream.generate_until(start + 16)
    assert notes, "an untrained model still completes notes under the grammar"
    low, high = bundle.tokenizer.config.pitch_range
    assert all(low <= n.pitch <= high and 1 <= n.velocity <= 127 and n.duration_beats > 0 for n in notes)
    assert all(n.onset_beats >= start for n in notes)
    assert stream.position_beats >= start + 16


def test_same_seed_same_music(bundle: PianoBundle) -> None:
    runs = []
    for _ in range(2):
        stream = PianoStream(bundle, seed=5)
        stream.prime_midi(FIXTURES / "piano_midi_de" / "scn15_4.mid")
        runs.append([stream.step() for _ in range(200)])
    assert runs[0] == runs[1]


def test_stream_outlives_its_context_and_can_be_reprimed(bundle: PianoBundle) -> None:
    stream = PianoStream(bundle, seed=2)
    stream.prime_midi(FIXTURES / "pop909" / "002.mid")
    context = bundle.model.config.context_length
    for _ in range(3 * context):
        stream.step()
    assert stream.cache.rolls > 0
    before = stream.position_beats
    stream.prime_midi(FIXTURES / "piano_midi_de" / "chpn-p7.mid")
    assert stream.position_beats > before
    assert stream.decoders[0].bar_start_beats == stream.position_beats
    for _ in range(context):
        stream.step()
    assert stream.cache.length <= stream.cache.max_length


def test_settings_change_between_tokens(bundle: PianoBundle) -> None:
    """Switching to greedy between two tokens makes the very next token the best allowed one."""
    stream = PianoStream(bundle, seed=3, batch_size=2)
    stream.prime_midi(FIXTURES / "pop909" / "002.mid")
    for _ in range(5):
        stream.step_batch()
    stream.sampling = SamplingConfig(temperature=0)
    expected = stream.logits.masked_fill(~stream.grammar.allowed(), float("-inf")).argmax(dim=-1)
    states_before = stream.grammar.states.clone()
    stream.step_batch()
    moved = stream.grammar.tables.next_state[states_before, expected].long()
    assert torch.equal(stream.grammar.states, moved)


def test_bad_seed_is_a_seed_error(bundle: PianoBundle, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(SeedError):
        PianoStream(bundle).prime_midi(corrupt)


def repeats_within(pitches: list[int], window: int) -> int:
    """How many pitch tokens repeat one of the `window - 1` pitches before them."""
    return sum(pitches[i] in pitches[max(0, i - window + 1) : i] for i in range(len(pitches)))


def test_repetition_penalty_is_per_stream_and_over_pitches(bundle: PianoBundle) -> None:
    """A strong penalty over the last 8 pitches makes every stream repeat pitches far less often."""
    counts = []
    for penalty in (1.0, 1e9):
        stream = PianoStream(bundle, SamplingConfig(repetition_penalty=penalty, repetition_window=8), seed=4,
                             batch_size=3)
        stream.prime_midi(FIXTURES / "pop909" / "001.mid")
        for _ in range(400):
            stream.step_batch()
        pitch_ids = set(stream.is_pitch.nonzero().flatten().tolist())
        rows = [[token for token in row if token in pitch_ids] for row in stream.recent.tolist()]
        assert all(len(row) >= 32 for row in rows)
        counts.append([repeats_within(row, 8) for row in rows])
    plain, penalized = counts
    assert all(p * 3 <= max(q, 1) for p, q in zip(penalized, plain, strict=True)), counts


def test_a_phrase_primes_like_the_same_notes_in_a_file(bundle: PianoBundle) -> None:
    from encore.models.notes import NoteEvent

    phrase = [NoteEvent(0.0, 60, 90, 1.0), NoteEvent(1.0, 64, 80, 0.5), NoteEvent(1.5, 67, 70, 2.0)]
    stream = PianoStream(bundle, seed=0)
    read = stream.prime_notes(phrase)
    assert [(n.pitch, n.onset_beats, n.duration_beats) for n in read] == [(60, 0.0, 1.0), (64, 1.0, 0.5), (67, 1.5, 2.0)]
    assert stream.position_beats == 4.0
    with pytest.raises(SeedError):
        stream.prime_notes([])


def test_two_streams_on_one_model_keep_their_own_caches(bundle: PianoBundle) -> None:
    """Interleaving two streams over one model gives each exactly what it gives alone."""
    alone = PianoStream(bundle, seed=9)
    alone.prime_midi(FIXTURES / "pop909" / "001.mid")
    expected = [alone.step() for _ in range(50)]
    first, second = PianoStream(bundle, seed=9), PianoStream(bundle, seed=1)
    first.prime_midi(FIXTURES / "pop909" / "001.mid")
    second.prime_midi(FIXTURES / "piano_midi_de" / "chpn-p7.mid")
    interleaved = []
    for _ in range(50):
        interleaved.append(first.step())
        second.step()
    assert interleaved == expected
