"""A challenge entry: an hour (or any length) of piano music continuing a seed, fast, in batched segments.

B streams of one `PianoStream` advance together, each primed with the same seed, so each continues
the seed's key and character from the seed's last bar line. Each stream's music is cut into
**segments** at bar lines: a segment ends where a guard trips (a long silence or a back-to-back
loop, `encore.training.challenge.guards`) or when the entry has enough music. A stream whose guard
tripped is re-primed from the seed: the seed's last bars (with its tempo) are fed to that stream
alone, token by token, while the other streams sample on, and a new segment starts at the bar line
after them. The entry is stream 0's segments in order, then stream 1's, and so on, joined bar line
to bar line (every segment begins on a bar line and ends on one, with notes released there), each
converted from the model's beats at its own tempo to seconds; it is cut at exactly the wanted
length, notes still sounding there being released.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mido
import torch

from encore.models.errors import EncoreError
from encore.models.midi_writer import write_notes
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream, seed_token_ids
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder, TokenTable
from encore.models.sampling_config import SamplingConfig
from encore.training.challenge.guards import GuardConfig, SegmentGuard
from encore.training.challenge.key import Key, estimate_key, scale_pitch_classes
from encore.training.challenge.rules import TARGET_S
from encore.training.challenge.timeline import (
    TempoMap,
    TimedNote,
    release_overlaps,
    timed_notes,
    to_file_beats,
    trim,
)

DEFAULT_BATCH = 8  # the fastest on a 2-core CPU: see benchmarks/bench_challenge.py
DEFAULT_BPM = 120.0


@dataclass(frozen=True)
class EntryConfig:
    """How an entry is made.

    Attributes:
        seconds: Length of the entry (the seed included when `include_seed`).
        batch_size: Streams sampled together (segments made in parallel).
        include_seed: Start the entry with the seed itself.
        guards: Silence and loop limits.
        reprime_bars: At most this many of the seed's last bars are replayed to re-prime a stream.
        reprime_tokens: ... and at most this many tokens.
        margin_s: Music made beyond `seconds` before stopping (the cut lands inside it).
        max_steps: Safety stop, in batch steps; None allows 200 tokens per second of music per stream.
        key_bias: Logit penalty on Pitch tokens outside the scale of the seed's key (`key.py`), so an
            hour keeps the seed's key without forbidding chromatic notes; 0 turns it off.
    """

    seconds: float = TARGET_S
    batch_size: int = DEFAULT_BATCH
    include_seed: bool = False
    guards: GuardConfig = field(default_factory=GuardConfig)
    reprime_bars: int = 4
    reprime_tokens: int = 256
    margin_s: float = 2.0
    max_steps: int | None = None
    key_bias: float = 2.0

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("seconds must be positive")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.key_bias < 0:
            raise ValueError("key_bias must not be negative")


@dataclass(frozen=True)
class SegmentInfo:
    """Where a segment sits in the entry, how long it is, which stream made it and why it ended."""

    stream: int
    start_s: float
    length_s: float
    ended_by: str  # "length" (enough music), "silence" or "loop" (a guard), "seed"


@dataclass(frozen=True)
class Entry:
    """The made entry: its notes in seconds, its segments and what it cost."""

    notes: list[TimedNote]
    seconds: float
    segments: list[SegmentInfo]
    tokens: int
    steps: int
    wall_s: float
    batch_size: int
    reprimes: dict[str, int] = field(default_factory=dict)  # guard trips by guard, every stream, kept or not

    @property
    def tokens_per_s(self) -> float:
        """Tokens sampled per second of wall time, all streams together."""
        return self.tokens / max(self.wall_s, 1e-9)


@dataclass
class _Segment:
    start_beats: float
    guard: SegmentGuard
    notes: list[NoteEvent] = field(default_factory=list)
    bar_beats: dict[float, float] = field(default_factory=dict)  # bar line: seconds -> beats
    last_bar_beats: float = 0.0


@dataclass
class _Closed:
    stream: int
    notes: list[TimedNote]
    length_s: float
    ended_by: str


class _StreamState:
    """One stream of the batch: its tempo map, its current segment or the tokens re-priming it."""

    def __init__(self, index: int, decoder: StreamingDecoder, bpm: float, guards: GuardConfig) -> None:
        self.index = index
        self.decoder = decoder
        self.tempo = TempoMap(bpm, decoder.position_beats)
        self.guards = guards
        self.forced: deque[int] = deque()
        self.segment: _Segment | None = None
        self.closed: list[_Closed] = []
        self.trips: Counter[str] = Counter()
        self.live_s = 0.0  # seconds of the current segment up to its latest bar line
        self.start_segment()

    def start_segment(self) -> None:
        beat = self.decoder.position_beats
        at_s = self.tempo.seconds(beat)
        self.segment = _Segment(beat, SegmentGuard(self.guards, at_s), bar_beats={at_s: beat}, last_bar_beats=beat)
        self.live_s = 0.0

    def close(self, end_beats: float, ended_by: str) -> float:
        """End the current segment at `end_beats`; return its length in seconds."""
        segment, self.segment = self.segment, None
        self.live_s = 0.0
        assert segment is not None
        length = self.tempo.seconds(end_beats) - self.tempo.seconds(segment.start_beats)
        if length > 0:
            self.closed.append(_Closed(self.index, timed_notes(segment.notes, self.tempo, segment.start_beats, end_beats),
                                       length, ended_by))
        return max(length, 0.0)

    def observe(self, token: int, notes: list[NoteEvent], kinds: tuple[int, ...], reprime: list[int]) -> float:
        """Take this stream's latest token and the notes it completed; return seconds of music closed."""
        decoder = self.decoder
        if decoder.tempo_bpm is not None and decoder.tempo_bpm != self.tempo.bpm:
            self.tempo.set_tempo(max(decoder.position_beats, self.tempo.changed_at_beats), decoder.tempo_bpm)
        if self.forced:
            self.forced.popleft()
            if not self.forced:
                self.start_segment()
            return 0.0
        segment = self.segment
        assert segment is not None
        for note in notes:
            segment.notes.append(note)
            segment.guard.add_note(self.tempo.seconds(note.onset_beats), self.tempo.seconds(note.end_beats), note.pitch)
        if kinds[token] != Kind.BAR:
            return 0.0
        beat = decoder.position_beats
        at_s = self.tempo.seconds(beat)
        segment.bar_beats[at_s] = beat
        segment.last_bar_beats = beat
        self.live_s = at_s - segment.guard.start_s
        cut_s = segment.guard.bar_line(at_s)
        if cut_s is None:
            return 0.0
        ended_by = "loop" if segment.guard.worst_repeat_start_s is not None else "silence"
        self.trips[ended_by] += 1
        self.forced.extend(reprime)
        return self.close(segment.bar_beats[cut_s], ended_by)


def reprime_tokens(seed_ids: list[int], table: TokenTable, bar: int, bos: int, max_bars: int,
                   max_tokens: int) -> list[int]:
    """Tokens that re-prime a stream that has just sampled a Bar: the seed's last bars after their
    first Bar (at most `max_bars` bars and `max_tokens` tokens), with the seed's latest Tempo after
    their first Position, then a Bar."""
    ids = [t for t in seed_ids if t != bos] + [bar]
    bars = [i for i, t in enumerate(ids) if t == bar]
    candidates = [i for i in bars[-max_bars - 1:] if len(ids) - i <= max_tokens] or bars[-2:-1] or bars[-1:]
    tail = ids[candidates[0] + 1:]
    tempos = [t for t in ids if table.kinds[t] == Kind.TEMPO]
    positions = [i for i, t in enumerate(tail) if table.kinds[t] == Kind.POSITION]
    if tempos and positions and (positions[0] + 1 >= len(tail) or table.kinds[tail[positions[0] + 1]] != Kind.TEMPO):
        tail.insert(positions[0] + 1, tempos[-1])
    return tail


def seed_segment(seed_ids: list[int], table: TokenTable, fallback_bpm: float) -> tuple[list[TimedNote], float]:
    """The seed as the model reads it, in seconds, up to the bar line after it; and that length."""
    decoder = StreamingDecoder(table)
    tempo = TempoMap(fallback_bpm)
    notes: list[NoteEvent] = []
    bar = next(i for i, kind in enumerate(table.kinds) if kind == Kind.BAR)
    for token in [*seed_ids, bar]:
        notes.extend(decoder.feed(token))
        if decoder.tempo_bpm is not None and decoder.tempo_bpm != tempo.bpm:
            tempo.set_tempo(decoder.position_beats, decoder.tempo_bpm)
    end = decoder.position_beats
    return timed_notes(notes, tempo, 0.0, end), tempo.seconds(end) - tempo.seconds(0.0)


def key_bias(vocab: dict[str, int], key: Key, strength: float) -> torch.Tensor:
    """A (vocab,) logit bias: `-strength` on every Pitch token outside the key's scale, 0 elsewhere."""
    bias = torch.zeros(len(vocab))
    in_scale = scale_pitch_classes(key)
    for name, index in vocab.items():
        if name.startswith("Pitch_") and int(name.removeprefix("Pitch_")) % 12 not in in_scale:
            bias[index] = -strength
    return bias


def make_entry(bundle: PianoBundle, seed: Path, config: EntryConfig | None = None,
               sampling: SamplingConfig | None = None, random_seed: int | None = None,
               progress: Callable[[float, float], None] | None = None) -> Entry:
    """Generate an entry continuing the seed file.

    Args:
        bundle: The loaded piano model.
        seed: Seed MIDI file.
        config: Length, batch and guards.
        sampling: Sampling settings.
        random_seed: For reproducible output.
        progress: Called now and then with (seconds of music made, seconds wanted).

    Raises:
        SeedError: the seed cannot be read or holds no notes.
        EncoreError: the streams made too little music within `max_steps`.
    """
    config = config or EntryConfig()
    started = time.perf_counter()
    seed_ids = seed_token_ids(bundle, seed)
    stream = PianoStream(bundle, sampling, seed=random_seed, batch_size=config.batch_size)
    table = TokenTable.from_tokenizer(bundle.tokenizer)
    stream.prime(seed_ids)
    first = stream.decoders[0]
    bpm = first.tempo_bpm or DEFAULT_BPM
    seed_notes, seed_s = seed_segment(seed_ids, table, bpm)
    head, head_s = (seed_notes, seed_s) if config.include_seed else ([], 0.0)
    seed_key = estimate_key(seed_notes)
    if seed_key is not None and config.key_bias > 0:
        stream.logit_bias = key_bias(bundle.tokenizer.vocab, seed_key, config.key_bias).to(bundle.device)
    wanted = max(config.seconds - head_s, 0.0)
    reprime = reprime_tokens(seed_ids, table, stream.bar, stream.bos, config.reprime_bars, config.reprime_tokens)
    states = [_StreamState(b, decoder, bpm, config.guards) for b, decoder in enumerate(stream.decoders)]
    max_steps = config.max_steps or int(200 * wanted / config.batch_size) + 5000
    closed_s, steps, kinds = 0.0, 0, table.kinds
    forced = torch.full((config.batch_size,), -1, dtype=torch.long)
    while closed_s + sum(s.live_s for s in states) < wanted + config.margin_s:
        if steps >= max_steps:
            raise EncoreError(f"the model made only {closed_s + sum(s.live_s for s in states):.0f} s of usable music "
                              f"in {steps} steps; the guards may be too strict for this seed")
        any_forced = any(state.forced for state in states)
        if any_forced:
            forced[:] = torch.tensor([state.forced[0] if state.forced else -1 for state in states])
        notes = stream.step_batch(forced if any_forced else None)
        for state, token, made in zip(states, stream.last_tokens, notes, strict=True):
            closed_s += state.observe(token, made, kinds, reprime)
        steps += 1
        if progress is not None and steps % 64 == 0:
            progress(min(closed_s + sum(s.live_s for s in states), wanted), wanted)
    for state in states:
        if state.segment is not None:
            state.close(state.segment.last_bar_beats, "length")
    notes, segments, offset = list(head), [], head_s
    if config.include_seed:
        segments.append(SegmentInfo(-1, 0.0, head_s, "seed"))
    for state in states:
        for piece in state.closed:
            if offset >= config.seconds:
                break
            notes.extend(TimedNote(n.onset_s + offset, n.end_s + offset, n.pitch, n.velocity) for n in piece.notes)
            segments.append(SegmentInfo(piece.stream, offset, min(piece.length_s, config.seconds - offset), piece.ended_by))
            offset += piece.length_s
    if progress is not None:
        progress(wanted, wanted)
    trips = sum((state.trips for state in states), Counter())
    return Entry(release_overlaps(trim(notes, config.seconds)), config.seconds, segments, steps * config.batch_size, steps,
                 time.perf_counter() - started, config.batch_size, dict(trips))


def write_entry(path: Path, entry: Entry) -> mido.MidiFile:
    """Write the entry as the grader wants it: type 0, note messages only, ticks timed for 120 bpm."""
    return write_notes(path, to_file_beats(entry.notes), bpm=None)
