"""Rewinding the live piano stream: exact within the rolling window and across rolls, on clean points only,
never behind a prime, never further back than it remembers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream
from encore.models.sampling_config import SamplingConfig

SEED = Path(__file__).resolve().parents[3] / "setlists" / "seeds" / "pop909_003.mid"
NEW_SETTING = SamplingConfig(temperature=1.4, top_p=0.8, repetition_penalty=1.3, repetition_window=16)


@pytest.fixture(scope="module")
def bundle() -> PianoBundle:
    return PianoBundle.random("tiny")


@dataclass
class Played:
    """What a stream did, step by step: the token, the generator's state before it, the notes it completed,
    the logits after it."""

    tokens: list[int]
    states: list[torch.Tensor]
    notes: list[list[NoteEvent]]
    logits: list[torch.Tensor]

    def same_logits(self, other: Played) -> bool:
        return len(self.logits) == len(other.logits) and all(map(torch.equal, self.logits, other.logits))


def play(stream: PianoStream, steps: int) -> Played:
    played = Played([], [], [], [])
    for _ in range(steps):
        played.states.append(stream.generator.get_state())
        played.notes.append(stream.step())
        played.tokens.append(stream.last_tokens[0])
        assert stream.logits is not None
        played.logits.append(stream.logits)
    return played


def primed(bundle: PianoBundle, rewind_tokens: int = 512, seed: int = 7) -> PianoStream:
    stream = PianoStream(bundle, seed=seed)
    stream.enable_rewind(rewind_tokens)
    stream.prime_midi(SEED)
    return stream


@pytest.mark.parametrize("steps", [12, 260], ids=["within-the-window", "across-rolls"])
def test_a_rewound_stream_continues_as_a_fresh_one_fed_the_same_tokens(bundle: PianoBundle, steps: int) -> None:
    """Rewound under a new setting, the stream samples what a fresh stream, primed alike, fed the same
    tokens and given the same random state, samples under that setting: token for token, logit for logit."""
    stream = primed(bundle)
    base, start_rolls = stream.tokens_generated, stream.cache.rolls
    played = play(stream, steps)
    end_rolls = stream.cache.rolls
    assert stream.rewind_to(stream.history[-(steps // 2)].position_beats) is not None
    kept = stream.tokens_generated - base
    assert 0 <= kept < steps
    if steps == 12:
        assert end_rolls == start_rolls  # the cache never rolled: the plain within-the-window case
    else:
        assert stream.cache.rolls < end_rolls  # the rewind undid rolls
    logits = stream.logits
    stream.sampling = NEW_SETTING
    continued = play(stream, 40)

    fresh = PianoStream(bundle, seed=999)  # another seed: its random state is set below
    fresh.prime_midi(SEED)
    for token in played.tokens[:kept]:
        fresh.step_batch(forced=torch.tensor([token]))
    fresh.generator.set_state(played.states[kept])
    assert fresh.logits is not None and logits is not None and torch.equal(fresh.logits, logits)
    fresh.sampling = NEW_SETTING
    again = play(fresh, 40)
    assert again.tokens == continued.tokens and again.same_logits(continued)
    assert continued.tokens != played.tokens[kept : kept + 40]  # the new setting did change the music


def test_the_rewind_lands_on_the_first_clean_step_at_or_after_the_beat(bundle: PianoBundle) -> None:
    """Notes completed before the point start before it, the forgotten ones at or after it, none between."""
    stream = primed(bundle)
    played = play(stream, 120)
    onsets = [(i, note.onset_beats) for i, notes in enumerate(played.notes) for note in notes]
    target = onsets[len(onsets) // 2][1] + 0.01  # just after a note's onset: a chord there must stay whole
    position = stream.rewind_to(target)
    assert position is not None and position >= target
    kept = len(stream.history)
    assert all(onset < position for i, onset in onsets if i < kept)
    assert all(onset >= position for i, onset in onsets if i >= kept)
    assert stream.position_beats == position


def test_nothing_to_take_back_is_none_and_changes_nothing(bundle: PianoBundle) -> None:
    stream = primed(bundle)
    play(stream, 30)
    position, tokens = stream.position_beats, stream.tokens_generated
    assert stream.rewind_to(position + 0.25) is None
    assert (stream.position_beats, stream.tokens_generated) == (position, tokens)


def test_a_prime_is_a_wall(bundle: PianoBundle) -> None:
    stream = primed(bundle)
    play(stream, 60)
    stream.prime_midi(SEED)
    primed_at = stream.position_beats
    play(stream, 30)
    assert stream.rewind_to(0.0) == primed_at  # not behind the prime: to the first step after it
    assert stream.position_beats == primed_at and len(stream.history) == 0


def test_a_short_memory_rewinds_to_the_oldest_exact_point(bundle: PianoBundle) -> None:
    """Asked further back than it remembers, the stream goes to the nearest remembered clean step, and
    from there it is still exact: with the same setting it plays what it played the first time."""
    stream = primed(bundle, rewind_tokens=24)
    played = play(stream, 200)
    before = stream.tokens_generated
    position = stream.rewind_to(0.0)
    assert position is not None
    back = before - stream.tokens_generated
    assert 0 < back <= 24
    again = play(stream, back)
    assert again.tokens == played.tokens[-back:] and again.notes == played.notes[-back:]
    assert again.same_logits(Played([], [], [], played.logits[-back:]))
