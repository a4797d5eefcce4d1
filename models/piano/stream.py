"""A live piano token stream: model, rolling KV cache, grammar mask, sampler and streaming decoder.

One `PianoStream` holds B independent streams that advance together (B=1 on stage). It never
restarts: priming with a new seed appends the seed to the same cache (which rolls when full), and the
musical timeline runs on. Priming always ends with a `Bar` token, so what is generated next starts
on a bar line at `position_beats`.

With `enable_rewind(tokens)` the stream remembers its state before each of its last `tokens` steps
(KV cache length, grammar, decoders, repetition window, random generator, logits) and `rewind_to(beat)`
takes it back to the first of them at or after a beat, exactly: what it samples from there is what a
stream that had sampled the same tokens would sample with the same random state (a revisable lookahead).
A prime is a wall: nothing before it can be rewound to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from symusic import Note, Score, Track

from encore.models.errors import SeedError
from encore.models.midi_io import read_seed
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.grammar import BatchGrammar, GrammarTables
from encore.models.piano.kv_cache import CacheMark
from encore.models.piano.sampling import sample_next
from encore.models.piano.streaming_decoder import DecoderState, StreamingDecoder, TokenTable
from encore.models.sampling_config import SamplingConfig

RECENT_PITCHES = 128


@dataclass(frozen=True)
class StreamMark:
    """The stream's state before one step: all `PianoStream.rewind_to` restores.

    Attributes:
        position_beats: Where the first stream had got in time.
        clean: No note of the first stream starts at `position_beats` yet, so every note before the mark
            starts earlier and every note after it at or later: a point to rewind to.
    """

    position_beats: float
    clean: bool
    cache: CacheMark
    grammar: torch.Tensor
    decoders: tuple[DecoderState, ...]
    recent: torch.Tensor
    generator: torch.Tensor
    logits: torch.Tensor | None
    tokens_generated: int
    last_tokens: tuple[int, ...]
    last_onset: float


def score_token_ids(bundle: PianoBundle, score: Score) -> list[int]:
    """REMI+ ids of a one-track score."""
    encoded = bundle.tokenizer.encode(score)
    sequence = encoded[0] if isinstance(encoded, list) else encoded
    return list(sequence.ids)


def seed_token_ids(bundle: PianoBundle, path: Path) -> list[int]:
    """REMI+ ids of a seed MIDI file (all pitched tracks merged into one piano part).

    Raises:
        SeedError: the file is missing, corrupt, or holds no notes.
    """
    return score_token_ids(bundle, read_seed(path))


def phrase_score(notes: Sequence[NoteEvent], ticks_per_beat: int = 480) -> Score:
    """A one-track piano score (120 bpm, 4/4) of a phrase; onsets in beats from its start.

    Raises:
        SeedError: the phrase has no notes.
    """
    if not notes:
        raise SeedError("the phrase holds no notes to continue")
    score = Score(ticks_per_beat)
    track = Track(name="piano", program=0)
    for note in notes:
        track.notes.append(Note(round(note.onset_beats * ticks_per_beat),
                                max(1, round(note.duration_beats * ticks_per_beat)), note.pitch, note.velocity))
    score.tracks.append(track)
    return score


class PianoStream:
    """B token streams sampled from the piano model, turned into timed notes as they come.

    Args:
        bundle: The loaded model and tokenizer.
        sampling: Initial sampling settings (replace `self.sampling` between tokens to change them).
        seed: Seed of the sampling generator, for reproducible output.
        batch_size: Number of independent streams.
        max_prime_tokens: Longest seed tail sent through the model (earlier bars still advance time).

    Attributes:
        sampling: The sampling settings, read at every step (swap them between tokens).
        logit_bias: Optional (vocab,) or (B, vocab) tensor added to the logits before sampling (e.g. a
            soft key: a penalty on pitches outside a scale), also read at every step.
    """

    def __init__(self, bundle: PianoBundle, sampling: SamplingConfig | None = None, seed: int | None = None,
                 batch_size: int = 1, max_prime_tokens: int | None = None) -> None:
        self.bundle = bundle
        self.model = bundle.model
        self.sampling = sampling or SamplingConfig()
        self.batch_size = batch_size
        device = bundle.device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed if seed is not None else torch.seed())
        vocab = bundle.tokenizer.vocab
        self.bos, self.bar = vocab["BOS_None"], vocab["Bar_None"]
        table = TokenTable.from_tokenizer(bundle.tokenizer)
        self.is_pitch = torch.tensor([token.startswith("Pitch_") for token in vocab_by_id(vocab)], device=device)
        self.grammar = BatchGrammar(GrammarTables(table), batch_size, device)
        self.decoders = [StreamingDecoder(table) for _ in range(batch_size)]
        self.cache = self.model.setup_cache(batch_size)  # this stream's own; the model may be shared
        self.max_prime_tokens = max_prime_tokens or (self.cache.capacity * 3) // 4
        self.recent = torch.full((batch_size, RECENT_PITCHES), vocab["PAD_None"], dtype=torch.long, device=device)
        self.logits: torch.Tensor | None = None
        self.logit_bias: torch.Tensor | None = None  # (vocab,) or (B, vocab), added before sampling
        self.tokens_generated = 0
        self.last_tokens: list[int] = []  # the token of each stream at the latest step
        self.history: deque[StreamMark] = deque(maxlen=0)  # `enable_rewind`
        self._last_onset = float("-inf")  # latest onset the first stream has completed
        self.style_id: int | None = None  # `set_style`: the token after BOS of a fresh stream

    def enable_rewind(self, tokens: int) -> None:
        """Remember the state before each of the last `tokens` steps, so `rewind_to` can go back to them.

        The cache keeps enough rolls to undo for that many tokens.
        """
        self.history = deque(self.history, maxlen=tokens)
        self.cache.keep_undo(-(-tokens // self.cache.evict_chunk) + 1 if tokens else 0)

    def rewind_to(self, beat: float) -> float | None:
        """Go back to the first remembered step at or after `beat` (the nearest such point that is exact).

        Returns:
            The beat rewound to: every note the stream completed from there on (all starting at or
            after it) is forgotten, every earlier one stands. None when nothing at or after `beat`
            can be taken back (not rendered that far, or not remembered).
        """
        marks = [*self.history, self._mark()]
        for index, mark in enumerate(marks):
            if mark.clean and mark.position_beats >= beat and self.cache.can_rewind(mark.cache):
                self._restore(mark)
                for _ in range(len(marks) - 1 - index):
                    self.history.pop()
                return mark.position_beats
        return None

    def rewind_before(self, beat: float, where: Callable[[StreamMark], bool] | None = None) -> list[int] | None:
        """Go back to the last remembered step at or before `beat` that is exact (as `rewind_to` chooses)
        and, if given, satisfies `where`, and return the tokens the first stream sampled from there, to be
        fed again (a duet inserting a performer's notes among them: `encore.models.piano.duet`).

        Returns:
            The tokens, oldest first; None when no such step is remembered (nothing changes then).
        """
        marks = [*self.history, self._mark()]
        for index in range(len(marks) - 1, -1, -1):
            mark = marks[index]
            if (mark.clean and mark.position_beats <= beat and (where is None or where(mark))
                    and self.cache.can_rewind(mark.cache)):
                tokens = [later.last_tokens[0] for later in marks[index + 1:]]
                self._restore(mark)
                for _ in range(len(marks) - 1 - index):
                    self.history.pop()
                return tokens
        return None

    def _mark(self) -> StreamMark:
        position = self.position_beats
        return StreamMark(position, self.past_last_onset, self.cache.mark(), self.grammar.states.clone(),
                          tuple(decoder.state() for decoder in self.decoders), self.recent,
                          self.generator.get_state(), self.logits, self.tokens_generated, tuple(self.last_tokens),
                          self._last_onset)

    def _restore(self, mark: StreamMark) -> None:
        self.cache.rewind(mark.cache)
        self.grammar.states = mark.grammar.clone()
        for decoder, state in zip(self.decoders, mark.decoders, strict=True):
            decoder.restore(state)
        self.recent, self.logits = mark.recent, mark.logits
        self.generator.set_state(mark.generator)
        self.tokens_generated, self.last_tokens = mark.tokens_generated, list(mark.last_tokens)
        self._last_onset = mark.last_onset

    @property
    def position_beats(self) -> float:
        """How far in musical time the (first) stream has got."""
        return self.decoders[0].position_beats

    @property
    def past_last_onset(self) -> bool:
        """Whether the (first) stream has moved on from the onset of its last completed note (a later
        Position or Bar), so no more notes can join that onset."""
        return self._last_onset < self.position_beats

    @property
    def awaiting_note(self) -> bool:
        """Whether the (first) stream has read a Position whose note has not completed yet."""
        return self.decoders[0].awaiting_note

    def set_style(self, style: str | None) -> None:
        """Open the stream with this style token after BOS (a v2 vocabulary's `Style_*`; None: no style).

        It takes effect at the first prime, and then stays in the cache's attention sink for the show.

        Raises:
            ValueError: the vocabulary has no such style token (a v1 checkpoint has none).
        """
        if style is None:
            self.style_id = None
            return
        token = f"Style_{style}"
        if token not in self.bundle.tokenizer.vocab:
            raise ValueError(f"style: this checkpoint has no {token!r} token (v2 checkpoints have styles)")
        self.style_id = self.bundle.tokenizer.vocab[token]

    def prime(self, token_ids: list[int]) -> list[NoteEvent]:
        """Feed context tokens to every stream, then a `Bar`; return the notes they hold (not for playing).

        The decoder and grammar see every token; the model sees the tail from a bar line, at most
        `max_prime_tokens` long (plus BOS, and the style token if set, at the very start of a stream).
        """
        ids = [t for t in token_ids if t != self.bos] + [self.bar]
        fresh = self.cache.tokens_seen == 0
        tail = ids[_tail_start(ids, self.bar, self.max_prime_tokens):]
        if fresh:
            opening = [self.bos] if self.style_id is None else [self.bos, self.style_id]
            tail = [*opening, *tail]
            ids = [*opening, *ids]
        notes = self.decoders[0].feed_many(ids)
        for decoder in self.decoders[1:]:
            decoder.feed_many(ids)
        batch = torch.tensor(ids, device=self.grammar.device)
        for token in batch:
            self.grammar.advance(token.expand(self.batch_size))
        self.logits = prefill(self.model, torch.tensor([tail] * self.batch_size, device=self.bundle.device), self.cache)
        self.history.clear()  # a prime is a wall for rewinds
        self.cache.forget_undo()
        self._last_onset = max([self._last_onset, *(note.onset_beats for note in notes)])
        return notes

    def prime_midi(self, path: Path) -> list[NoteEvent]:
        """Prime with a seed MIDI file; return the seed's notes as the model reads them."""
        return self.prime(seed_token_ids(self.bundle, path))

    def prime_notes(self, notes: Sequence[NoteEvent]) -> list[NoteEvent]:
        """Prime with a phrase (onsets in beats from its start); return it as the model reads it."""
        return self.prime(score_token_ids(self.bundle, phrase_score(notes)))

    @torch.inference_mode()
    def step_batch(self, forced: torch.Tensor | None = None) -> list[list[NoteEvent]]:
        """Sample one token per stream; return the notes each token completed.

        Args:
            forced: Optional (B,) token ids fed instead of sampling where they are not negative (to
                re-prime one stream of a batch while the others sample on).
        """
        if self.logits is None:
            self.prime([])
        if self.history.maxlen:
            self.history.append(self._mark())
        window = min(self.sampling.repetition_window, RECENT_PITCHES)
        logits = self.logits if self.logit_bias is None else self.logits + self.logit_bias
        tokens = sample_next(logits, self.sampling, self.generator, self.grammar.allowed(),
                             self.recent[:, RECENT_PITCHES - window:] if window else None)
        if forced is not None:
            tokens = torch.where(forced >= 0, forced.to(tokens.device), tokens)
        self.grammar.advance(tokens)
        self._remember_pitches(tokens)
        self.logits = decode_step(self.model, tokens, self.cache)
        self.tokens_generated += 1
        ids = self.last_tokens = tokens.tolist()
        notes = [decoder.feed(token) for decoder, token in zip(self.decoders, ids, strict=True)]
        if notes[0]:
            self._last_onset = max(self._last_onset, notes[0][-1].onset_beats)
        return notes

    @torch.inference_mode()
    def feed_forced(self, token_ids: Sequence[int]) -> list[NoteEvent]:
        """Feed tokens to a single stream as `step_batch(forced=...)` would one at a time, in one forward
        pass (a duet laying a performer's notes into the context; `encore.models.piano.duet`).

        A step is remembered for each token, as for sampled ones; no random number is drawn. Where the
        tokens make the cache roll, they go in two passes: those that fit, then the rest from the rolled
        cache, which is where one token at a time would have rolled too (more than a roll's worth is fed
        one at a time).

        Returns:
            The notes the tokens completed.
        """
        if not token_ids:
            return []
        room = self.cache.max_length - self.cache.length
        if self.batch_size != 1 or self.logits is None or len(token_ids) > room + self.cache.evict_chunk:
            return [note for token in token_ids for note in self.step_batch(forced=torch.tensor([token]))[0]]
        if 0 < room < len(token_ids):
            return self.feed_forced(token_ids[:room]) + self.feed_forced(token_ids[room:])
        before, logits = self.cache.mark(), self.logits
        batch = torch.tensor([list(token_ids)], device=self.grammar.device)
        after = self.model(batch, self.cache.reserve(len(token_ids)), self.cache)
        first = CacheMark(self.cache.start, self.cache.tokens_seen - len(token_ids), self.cache.rolls)  # after any roll
        notes: list[NoteEvent] = []
        for index, token in enumerate(batch[0]):
            if self.history.maxlen:
                cache = before if index == 0 else CacheMark(first.length + index, first.tokens_seen + index, first.rolls)
                self.history.append(replace(self._mark(), cache=cache, logits=logits if index == 0 else after[:, index - 1]))
            tokens = token.reshape(1)
            self.grammar.advance(tokens)
            self._remember_pitches(tokens)
            self.tokens_generated += 1
            self.last_tokens = [int(token)]
            completed = self.decoders[0].feed(int(token))
            if completed:
                self._last_onset = max(self._last_onset, completed[-1].onset_beats)
            notes += completed
        self.logits = after[:, -1]
        return notes

    def step(self) -> list[NoteEvent]:
        """Sample one token of the single stream; return the notes it completed."""
        return self.step_batch()[0]

    def generate_until(self, beat: float, max_tokens: int = 1_000_000) -> list[NoteEvent]:
        """Step the single stream until it has reached `beat`; return every note completed."""
        notes: list[NoteEvent] = []
        for _ in range(max_tokens):
            if self.position_beats >= beat:
                break
            notes.extend(self.step())
        return notes

    def _remember_pitches(self, tokens: torch.Tensor) -> None:
        """Keep the last `RECENT_PITCHES` sampled Pitch tokens of each stream for the repetition penalty."""
        pitched = self.is_pitch[tokens]
        shifted = torch.cat([self.recent[:, 1:], tokens[:, None]], dim=1)
        self.recent = torch.where(pitched[:, None], shifted, self.recent)


def _tail_start(ids: list[int], bar: int, limit: int) -> int:
    """Index of the first Bar such that the tail from it is at most `limit` tokens (or the last Bar)."""
    bars = [index for index, token in enumerate(ids) if token == bar]
    for index in bars:
        if len(ids) - index <= limit:
            return index
    return bars[-1] if bars else 0


def vocab_by_id(vocab: dict[str, int]) -> list[str]:
    """Token strings ordered by id."""
    names = [""] * len(vocab)
    for name, index in vocab.items():
        names[index] = name
    return names
