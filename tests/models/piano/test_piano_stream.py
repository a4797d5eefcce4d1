"""The live piano stream: primed from real seeds, grammatical, timed, reproducible, never restarting."""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

import pytest
import torch

from encore.models.errors import SeedError
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream
from encore.models.sampling_config import SamplingConfig

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


def record_tokens(stream: PianoStream) -> list[list[int]]:
    """From now on, append each token the stream samples to the returned list (one list per row)."""
    recorded: list[list[int]] = [[] for _ in stream.decoders]
    for row, decoder in zip(recorded, stream.decoders, strict=True):
        feed = decoder.feed

        def recording_feed(token_id: int, row: list[int] = row, feed=feed) -> list:
            row.append(token_id)
            return feed(token_id)

        decoder.feed = recording_feed
    return recorded


def reference_probs(logits: torch.Tensor, allowed: torch.Tensor, recent: torch.Tensor,
                    config: SamplingConfig) -> torch.Tensor:
    """Next-token probabilities (B, V) under `config`, computed here from the stream's logits, in float64.

    Edges are kept generously (min-p and top-p cut-offs get a small slack), so a token this gives zero
    probability is one the sampler can never draw.
    """
    logits = logits.double().masked_fill(~allowed, float("-inf"))
    if config.repetition_window and config.repetition_penalty != 1.0:
        seen = torch.zeros_like(allowed).scatter_(1, recent[:, recent.shape[1] - config.repetition_window:], True)
        logits = logits - seen * math.log(config.repetition_penalty)
    if config.temperature == 0:
        return (logits == logits.max(dim=-1, keepdim=True).values).double()
    probs = (logits / config.temperature).softmax(dim=-1)
    if config.min_p > 0:
        probs = probs * (probs >= probs.max(dim=-1, keepdim=True).values * config.min_p * (1 - 1e-6))
        probs = probs / probs.sum(dim=-1, keepdim=True)
    if config.top_p < 1:
        ordered, order = probs.sort(dim=-1, descending=True)
        before = ordered.cumsum(dim=-1) - ordered
        keep = torch.zeros_like(allowed).scatter(1, order, before < config.top_p + 1e-6)
        probs = probs * keep
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs.masked_fill(probs < 1e-6, 0.0)  # a 1e9 repetition penalty leaves ~1e-11, never drawn


def test_every_setting_takes_effect_at_the_very_next_token(bundle: PianoBundle) -> None:
    """Greedy, top-p, min-p and the repetition penalty, each set mid-stream, decide the next tokens.

    Every sampled token must have nonzero probability under the current settings (computed here,
    independently of the sampler). Under the starting settings the same tokens would have stayed
    inside those supports with probability < 1e-4 per phase: a stream that froze its settings at
    its first token fails.
    """
    start = SamplingConfig(temperature=1.0, top_p=1.0, min_p=0.0, repetition_penalty=1.0, repetition_window=32)
    stream = PianoStream(bundle, start, seed=3, batch_size=2)
    stream.prime_midi(FIXTURES / "pop909" / "002.mid")
    tokens = record_tokens(stream)
    for _ in range(5):
        stream.step_batch()
    phases = [
        SamplingConfig(temperature=0.0, top_p=1.0, min_p=0.0, repetition_penalty=1.0, repetition_window=32),
        SamplingConfig(temperature=1.0, top_p=0.3, min_p=0.0, repetition_penalty=1.0, repetition_window=32),
        SamplingConfig(temperature=1.0, top_p=1.0, min_p=0.9, repetition_penalty=1.0, repetition_window=32),
        SamplingConfig(temperature=1.0, top_p=1.0, min_p=0.0, repetition_penalty=1e9, repetition_window=32),
        SamplingConfig(temperature=0.5, top_p=0.6, min_p=0.5, repetition_penalty=1e9, repetition_window=32),
    ]
    for config in phases:
        stream.sampling = config
        frozen_log_chance = 0.0
        for _ in range(100):
            allowed, recent = stream.grammar.allowed(), stream.recent.clone()
            probs = reference_probs(stream.logits, allowed, recent, config)
            if config.temperature == 0:
                best = stream.logits.masked_fill(~allowed, float("-inf")).argmax(dim=-1)
                assert probs[torch.arange(2), best].eq(1).all() and probs.sum(dim=-1).eq(1).all()
            before = reference_probs(stream.logits, allowed, recent, start)
            stream.step_batch()
            for row in range(2):
                token = tokens[row][-1]
                assert probs[row, token] > 0, f"{config}: token {token} is outside the current settings' support"
                frozen_log_chance += math.log(before[row][probs[row] > 0].sum().item())
        assert frozen_log_chance < math.log(1e-4), (config, frozen_log_chance)


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


@pytest.mark.timeout(300)
def test_two_streams_sharing_a_model_decode_in_two_threads_as_one_after_the_other(bundle: PianoBundle) -> None:
    """Two streams over one model, stepped at the same time from two threads, sample exactly the tokens
    they sample when run one after the other: each owns its cache, and nothing is parked on the model."""
    seeds = [(21, FIXTURES / "pop909" / "001.mid"), (22, FIXTURES / "piano_midi_de" / "chpn-p7.mid")]
    steps = 600  # several contexts: both caches roll while the other thread decodes

    def play(stream: PianoStream, seed_file: Path, barrier: threading.Barrier | None) -> tuple[list, torch.Tensor]:
        if barrier is not None:
            barrier.wait()
        stream.prime_midi(seed_file)
        tokens = record_tokens(stream)
        for _ in range(steps):
            if barrier is not None:
                barrier.wait()
            stream.step_batch()
        return tokens, stream.logits.clone()

    alone = []
    for seed, seed_file in seeds:
        alone.append(play(PianoStream(bundle, seed=seed, batch_size=2), seed_file, None))

    streams = [PianoStream(bundle, seed=seed, batch_size=2) for seed, _ in seeds]
    barrier = threading.Barrier(len(streams), timeout=120)
    together: list = [None, None]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            together[index] = play(streams[index], seeds[index][1], barrier)
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(streams))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible: races show up, not hide
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]
    assert all(stream.cache.rolls > 0 for stream in streams)
    assert streams[0].cache is not streams[1].cache
    for index in range(len(streams)):
        assert together[index][0] == alone[index][0], f"stream {index} sampled other tokens in a thread"
        torch.testing.assert_close(together[index][1], alone[index][1], atol=1e-5, rtol=0)
