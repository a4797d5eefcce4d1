"""Streaming REMI+ decoder: token ids in, complete notes out, one token at a time.

It reproduces MidiTok 3.1.0 `REMI._tokens_to_score` exactly (same notes, same ticks), but
incrementally, so the engine can play a note as soon as its Duration token is sampled:

* `Bar` starts a new bar one bar length after the previous one; the first `Bar` (or the first
  `Position` if one comes before any `Bar`) is bar 0, at tick 0.
* `Position_p` sets the time to bar start + p * ticks_per_position; it may go backwards.
* A note is emitted only for the exact triple `Pitch Velocity Duration`; any other token in
  between drops the pending note, as MidiTok does. `PitchDrum` decodes like `Pitch`.
* Durations and position steps depend on the time-signature denominator (a Duration of one
  beat in 6/8 is an eighth note).
* A `TimeSig` that differs from the current one changes the bar length from the current bar on.
  MidiTok takes the initial time signature from the first `TimeSig` met before any
  Pitch/Velocity/Duration token, even if it comes after some Bars or Positions; until then
  4/4 is assumed, and the bar and position already reached are re-timed when it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from miditok import MusicTokenizer

from encore.models.notes import NoteEvent
from encore.models.piano import miditok_adapter as mt

__all__ = ["DecoderState", "Kind", "StreamingDecoder", "TokenTable"]


class Kind(IntEnum):
    """Token kinds of our REMI+ vocabulary."""

    PAD = 0
    BOS = 1
    EOS = 2
    BAR = 3
    TIME_SIG = 4
    POSITION = 5
    TEMPO = 6
    PITCH = 7
    PITCH_DRUM = 8
    VELOCITY = 9
    DURATION = 10
    IGNORED = 11  # tokens MidiTok's decoder skips: a pitch outside the pitch range
    PERFORMER = 12  # v2: the next note is the performer's (time does not move)
    STYLE = 13  # v2: the kind of music, after BOS
    RESERVED = 14  # v2: rows with no meaning yet, never sampled


_KIND_OF_TYPE = {
    "PAD": Kind.PAD,
    "BOS": Kind.BOS,
    "EOS": Kind.EOS,
    "Bar": Kind.BAR,
    "TimeSig": Kind.TIME_SIG,
    "Position": Kind.POSITION,
    "Tempo": Kind.TEMPO,
    "Pitch": Kind.PITCH,
    "PitchDrum": Kind.PITCH_DRUM,
    "Velocity": Kind.VELOCITY,
    "Duration": Kind.DURATION,
    "Performer": Kind.PERFORMER,
    "Style": Kind.STYLE,
    "Reserved": Kind.RESERVED,
}

# Plain ints for the per-token hot path (enum attribute lookups cost more than the work).
_BAR, _TIME_SIG, _POSITION, _TEMPO = int(Kind.BAR), int(Kind.TIME_SIG), int(Kind.POSITION), int(Kind.TEMPO)
_PITCH, _PITCH_DRUM, _VELOCITY, _DURATION, _IGNORED = (
    int(Kind.PITCH),
    int(Kind.PITCH_DRUM),
    int(Kind.VELOCITY),
    int(Kind.DURATION),
    int(Kind.IGNORED),
)


@dataclass(frozen=True)
class TokenTable:
    """Per-token-id lookup tables of a REMI+ vocabulary, built once from the tokenizer.

    Attributes:
        kinds: kind of each token id (a `Kind` value, as a plain int).
        values: the token's value: position index, pitch, velocity, index into `time_signatures`
            or `tempos`; 0 for other kinds.
        time_signatures: (numerator, denominator) of each TimeSig index.
        tempos: quarter notes per minute of each Tempo index.
        ticks_per_quarter: time division of the decoded ticks (MidiTok's `time_division`).
        ticks_per_bar: ticks per bar for each time-signature index.
        ticks_per_position: ticks between two Position tokens, for each time-signature index.
        positions_per_bar: Position tokens that fit in a bar, for each time-signature index.
        duration_ticks: for each time-signature index, the ticks of each token id (0 unless Duration).
        default_time_signature: index of MidiTok's default time signature (4/4).
    """

    kinds: tuple[int, ...]
    values: tuple[int, ...]
    time_signatures: tuple[tuple[int, int], ...]
    tempos: tuple[float, ...]
    ticks_per_quarter: int
    ticks_per_bar: tuple[int, ...]
    ticks_per_position: tuple[int, ...]
    positions_per_bar: tuple[int, ...]
    duration_ticks: tuple[tuple[int, ...], ...]
    default_time_signature: int

    @property
    def vocab_size(self) -> int:
        """Number of token ids."""
        return len(self.kinds)

    @classmethod
    def from_tokenizer(cls, tokenizer: MusicTokenizer) -> TokenTable:
        """Parse a MidiTok REMI vocabulary once (no programs, rests, chords, numbered bars or BPE).

        MidiTok's internals are read only through `encore.models.piano.miditok_adapter`.

        Raises:
            ValueError: if the vocabulary holds a token type the decoder does not handle.
        """
        pitch_low, pitch_high = tokenizer.config.pitch_range
        time_sigs = mt.time_signatures(tokenizer)
        ts_index = {ts: i for i, ts in enumerate(time_sigs)}
        tempos: list[float] = []
        durations: list[str | None] = []
        kinds: list[int] = []
        values: list[int] = []
        for tok_type, tok_val in mt.vocabulary(tokenizer):
            if tok_type not in _KIND_OF_TYPE or (tok_type == "Bar" and tok_val != "None"):
                raise ValueError(f"the streaming decoder does not handle {tok_type + '_' + tok_val!r} tokens")
            kind = _KIND_OF_TYPE[tok_type]
            value = 0
            if kind in (Kind.POSITION, Kind.VELOCITY):
                value = int(tok_val)
            elif kind in (Kind.PITCH, Kind.PITCH_DRUM):
                value = int(tok_val)
                if not pitch_low <= value <= pitch_high:
                    kind = Kind.IGNORED
            elif kind is Kind.TIME_SIG:
                value = ts_index[mt.parse_time_signature(tokenizer, tok_val)]
            elif kind is Kind.TEMPO:
                value = len(tempos)
                tempos.append(float(tok_val))
            kinds.append(int(kind))
            values.append(value)
            durations.append(tok_val if kind is Kind.DURATION else None)

        tpq = mt.ticks_per_quarter(tokenizer)
        tpb = tuple(mt.ticks_per_beat(tokenizer, den) for _, den in time_sigs)
        tpbar = tuple(mt.ticks_per_bar(ts, tpq) for ts in time_sigs)
        tppos = tuple(mt.ticks_per_position(tokenizer, beat) for beat in tpb)
        num_positions = kinds.count(int(Kind.POSITION))
        positions = tuple(min(bar // pos, num_positions) for bar, pos in zip(tpbar, tppos, strict=True))
        dur_ticks = tuple(
            tuple(0 if d is None else mt.duration_ticks(tokenizer, beat, d) for d in durations) for beat in tpb
        )
        return cls(
            kinds=tuple(kinds),
            values=tuple(values),
            time_signatures=time_sigs,
            tempos=tuple(tempos),
            ticks_per_quarter=tpq,
            ticks_per_bar=tpbar,
            ticks_per_position=tppos,
            positions_per_bar=positions,
            duration_ticks=dur_ticks,
            default_time_signature=ts_index[mt.default_time_signature()],
        )


@dataclass(frozen=True, slots=True)
class DecoderState:
    """Everything a `StreamingDecoder` knows, to rewind it (`StreamingDecoder.state`, `restore`)."""

    start_beats: float
    tick: int
    bar_tick: int
    bar: int
    position: int | None
    initial_ts_open: bool
    tempo: float | None
    time_signature: int
    stage: int
    pitch: int
    velocity: int
    note_due: bool = False


class StreamingDecoder:
    """Decodes one REMI+ token id at a time into `NoteEvent`s, exactly as MidiTok decodes.

    Times are kept in MidiTok ticks (integers) and converted to beats (quarter notes) on output,
    offset by `start_beats`. Under the grammar of `encore.models.piano.grammar` no later note starts before
    `position_beats`, so every note before it has been emitted.

    Args:
        table: lookup tables of the vocabulary (`TokenTable.from_tokenizer`).
        start_beats: beat at which the stream starts (added to every time it reports).
    """

    def __init__(self, table: TokenTable, start_beats: float = 0.0) -> None:
        self.table = table
        self._kinds = table.kinds
        self._values = table.values
        self._tpq = table.ticks_per_quarter
        self.reset(start_beats)

    def reset(self, start_beats: float = 0.0) -> None:
        """Forget the stream and start a new one at `start_beats`."""
        self.start_beats = start_beats
        self._tick = 0  # MidiTok's current_tick
        self._bar_tick = 0  # tick_at_current_bar
        self._bar = -1
        self._position: int | None = None  # last Position index in the bar, for re-timing
        self._initial_ts_open = True  # no TimeSig nor Pitch/Velocity/Duration seen yet
        self._tempo: float | None = None
        self._set_time_signature(self.table.default_time_signature)
        self._stage = 0  # 1: after Pitch, 2: after Pitch Velocity
        self._pitch = 0
        self._velocity = 0
        self._note_due = False  # a Position was read and no note at it has completed yet

    def state(self) -> DecoderState:
        """The decoder's state now, for `restore`."""
        return DecoderState(self.start_beats, self._tick, self._bar_tick, self._bar, self._position,
                            self._initial_ts_open, self._tempo, self._ts, self._stage, self._pitch, self._velocity,
                            self._note_due)

    def restore(self, state: DecoderState) -> None:
        """Go back to a state taken with `state` (what follows decodes as it did from there)."""
        self.start_beats, self._tick, self._bar_tick, self._bar = state.start_beats, state.tick, state.bar_tick, state.bar
        self._position, self._initial_ts_open, self._tempo = state.position, state.initial_ts_open, state.tempo
        self._set_time_signature(state.time_signature)
        self._stage, self._pitch, self._velocity = state.stage, state.pitch, state.velocity
        self._note_due = state.note_due

    def _set_time_signature(self, ts_index: int) -> None:
        self._ts = ts_index
        self._ticks_per_bar = self.table.ticks_per_bar[ts_index]
        self._ticks_per_pos = self.table.ticks_per_position[ts_index]
        self._duration_ticks = self.table.duration_ticks[ts_index]

    def feed(self, token_id: int) -> list[NoteEvent]:
        """Consume one token id; return the note it completes (a Duration), else nothing."""
        kind = self._kinds[token_id]
        if kind == _DURATION:
            self._initial_ts_open = False
            stage, self._stage = self._stage, 0
            if stage != 2:
                return []
            self._note_due = False
            tpq = self._tpq
            return [
                NoteEvent(
                    self.start_beats + self._tick / tpq,
                    self._pitch,
                    self._velocity,
                    self._duration_ticks[token_id] / tpq,
                )
            ]
        if kind == _PITCH or kind == _PITCH_DRUM:
            self._initial_ts_open = False
            self._stage = 1
            self._pitch = self._values[token_id]
            return []
        if kind == _VELOCITY:
            self._initial_ts_open = False
            self._stage = 2 if self._stage == 1 else 0
            self._velocity = self._values[token_id]
            return []
        self._stage = 0
        if kind == _POSITION:
            if self._bar == -1:
                self._bar = 0  # a Position before any Bar is in bar 0
            self._position = self._values[token_id]
            self._tick = self._bar_tick + self._position * self._ticks_per_pos
            self._note_due = True
        elif kind == _BAR:
            self._bar += 1
            if self._bar > 0:
                self._tick = self._bar_tick + self._ticks_per_bar
            self._bar_tick = self._tick
            self._position = None
            self._note_due = False
        elif kind == _TEMPO:
            self._tempo = self.table.tempos[self._values[token_id]]
        elif kind == _TIME_SIG:
            self._time_signature_token(self._values[token_id])
        elif kind == _IGNORED:
            self._initial_ts_open = False  # MidiTok reads it as a Pitch while looking for the first TimeSig
        return []

    @property
    def awaiting_note(self) -> bool:
        """Whether a Position was read and no note at it has completed yet (its note is still coming)."""
        return self._note_due

    def feed_many(self, token_ids: Iterable[int]) -> list[NoteEvent]:
        """Consume several token ids; return the notes they complete, in order."""
        notes: list[NoteEvent] = []
        for token_id in token_ids:
            notes.extend(self.feed(token_id))
        return notes

    def _time_signature_token(self, ts_index: int) -> None:
        if self._initial_ts_open:
            # MidiTok's initial time signature: bars so far all had its length.
            self._initial_ts_open = False
            self._set_time_signature(ts_index)
            self._bar_tick = max(self._bar, 0) * self._ticks_per_bar
            self._tick = self._bar_tick + (self._position or 0) * self._ticks_per_pos
        elif ts_index != self._ts:
            # Takes effect from the current bar's start: its Positions and the next Bar.
            self._set_time_signature(ts_index)

    @property
    def bar_index(self) -> int:
        """Index of the current bar (0 for the first); -1 before any Bar or Position."""
        return self._bar

    @property
    def bar_start_beats(self) -> float:
        """Beat at which the current bar starts."""
        return self.start_beats + self._bar_tick / self._tpq

    @property
    def position_beats(self) -> float:
        """Beat of the latest Bar or Position: how far in time the stream has got."""
        return self.start_beats + self._tick / self._tpq

    @property
    def time_signature(self) -> tuple[int, int]:
        """Current (numerator, denominator); 4/4 until a TimeSig token says otherwise."""
        return self.table.time_signatures[self._ts]

    @property
    def tempo_bpm(self) -> float | None:
        """Latest Tempo token's value in quarter notes per minute; None before any."""
        return self._tempo

    @property
    def bar_length_beats(self) -> float:
        """Length of the current bar in beats (quarter notes)."""
        return self._ticks_per_bar / self._tpq
