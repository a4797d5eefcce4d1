"""The piano voice: beat mapping, controls between tokens, re-priming at a bar line without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_helpers import assert_no_hanging_notes, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.sampling import SetSampling
from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"


@dataclass
class ScriptedStream:
    """An in-memory twin of `PianoStream`: each token advances a quarter beat; every other one is a note.

    Priming with a seed advances the stream by 8 beats (as a two-bar seed would) and records the seed
    and the sampling in force at each step, so tests can see what the voice did between tokens.
    """

    sampling: SamplingConfig
    position_beats: float = 0.0
    primes: int = 0
    tokens: int = 0
    awaiting_note: bool = False  # every token completes what it starts

    def __post_init__(self) -> None:
        self.seen: list[SamplingConfig] = []

    def prime_midi(self, path: Path) -> None:
        assert path.is_file()
        self.primes += 1
        self.position_beats += 8.0

    def prime_notes(self, notes: list[NoteEvent]) -> None:
        assert notes
        self.primes += 1
        self.position_beats += 8.0

    def enable_rewind(self, tokens: int) -> None:
        assert tokens > 0

    def rewind_to(self, beat: float) -> float | None:
        return None  # remembers nothing: a revision takes nothing back

    def step(self) -> list[NoteEvent]:
        self.seen.append(self.sampling)
        self.tokens += 1
        onset = self.position_beats
        self.position_beats += 0.25
        return [NoteEvent(onset, 60 + self.primes, 80, 0.2)] if self.tokens % 2 else []


def test_the_first_note_after_priming_is_show_beat_zero() -> None:
    stream = ScriptedStream(SamplingConfig())
    voice = PianoVoice(stream, SEED)
    notes = voice.render_until(2.0)
    assert notes[0].onset_beats == 0.0 and voice.position_beats == 2.0
    assert [n.onset_beats for n in notes] == [0.0, 0.5, 1.0, 1.5]


def test_every_sampling_setting_reaches_the_stream_between_tokens() -> None:
    stream = ScriptedStream(SamplingConfig())
    voice = PianoVoice(stream, SEED, sampling=SamplingConfig(temperature=1.1))
    voice.render_until(1.0)
    voice.set_sampling(temperature=0.7, top_p=0.9)
    voice.render_until(2.0)
    voice.set_sampling(min_p=0.05, repetition_penalty=1.3, repetition_window=16)
    voice.render_until(3.0)
    first, second = SamplingConfig(temperature=1.1), SamplingConfig(temperature=0.7, top_p=0.9)
    third = SamplingConfig(temperature=0.7, top_p=0.9, min_p=0.05, repetition_penalty=1.3, repetition_window=16)
    assert stream.seen == [first] * 4 + [second] * 4 + [third] * 4


def test_a_bad_sampling_change_is_refused_and_changes_nothing() -> None:
    voice = PianoVoice(ScriptedStream(SamplingConfig()), SEED)
    with pytest.raises(ValueError, match="top_p: must be in"):
        voice.set_sampling(temperature=0.5, top_p=1.5)
    with pytest.raises(ValueError, match="seed: not a sampling setting"):
        voice.set_sampling(seed=3)
    assert voice.sampling == SamplingConfig()


def test_reprime_lands_on_the_bar_line_in_the_same_stream() -> None:
    stream = ScriptedStream(SamplingConfig())
    voice = PianoVoice(stream, SEED)
    voice.render_until(2.0)
    voice.reprime([NoteEvent(0.0, 72, 100, 1.0)], 4.0)
    notes = voice.render_until(6.0)
    assert stream.primes == 2  # primed again into the same stream, never rebuilt
    assert [n.pitch for n in notes if n.onset_beats < 4.0] == [61] * 4
    assert [(n.onset_beats, n.pitch) for n in notes if n.onset_beats >= 4.0] == [(4.0, 62), (4.5, 62), (5.0, 62), (5.5, 62)]


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Decode on one BLAS thread, as shows do (engine.show), restoring the setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_the_tiny_random_model_plays_a_show_with_controls_and_a_reseed(one_torch_thread: None) -> None:
    from encore.models.piano.checkpoint import PianoBundle
    from encore.models.piano.stream import PianoStream

    stream = PianoStream(PianoBundle.random(preset="tiny"), seed=0)
    voice = PianoVoice(stream, SEED)
    sink = MemorySink()
    config = EngineConfig(bpm=120.0, lookahead_bars=0.5, render_chunk_beats=0.5)
    engine = Engine([voice], [sink], config, now=VirtualClock())
    commands = {1.0: SetSampling(temperature=0.8), 2.0: Reseed(SEED)}

    def operator(now: float) -> None:
        for at in [t for t in commands if now >= t]:
            engine.submit(commands.pop(at))

    report = engine.run_offline(5.0, on_tick=operator)
    assert report.voice_failures == [] and report.counts.underruns == 0
    assert voice.tokens > 0 and stream.sampling.temperature == 0.8
    assert note_ons(sink.events), "the random model should still play notes"
    assert_no_hanging_notes(sink.events)
