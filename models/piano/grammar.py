"""Grammar mask for REMI+ sampling: at each step, the tokens that keep a stream well formed.

A stream is `[BOS [Style]] (Bar TimeSig (Position [Tempo] ([Performer] Pitch Velocity Duration)*)*)* [EOS PAD*]`, with
the Positions of a bar strictly increasing and inside the bar's length under its TimeSig, and at
least one note or a Tempo after each Position. This is what MidiTok produces from our data, and
every such stream decodes with MidiTok without a token left over (each Duration ends a note). Style and
Performer exist only in v2 vocabularies (`encore.models.piano.tokenizer`); the model never writes a
Performer note itself unless `allow_performer` says so, and never a Reserved token.

A grammar state is one int packing (phase, time signature, last position in the bar). The
allowed-token mask of every state and the next state for every (state, token) are precomputed,
so a step is a row lookup: `GrammarState` for one stream, `BatchGrammar` for B streams on any
torch device. Advancing is total: a token the mask forbids (in a prompt, say) still moves to the
state MidiTok's decoder would be in, so a stream can be primed with imperfect data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch

from encore.models.piano.streaming_decoder import Kind, TokenTable

__all__ = ["BatchGrammar", "GrammarConfig", "GrammarState", "GrammarTables", "Phase"]


class Phase(IntEnum):
    """What the last token was, as far as the grammar cares."""

    START = 0
    BOS = 1
    BAR = 2
    TIME_SIG = 3
    POSITION = 4
    TEMPO = 5
    PITCH = 6
    VELOCITY = 7
    DURATION = 8
    END = 9
    STYLE = 10
    PERFORMER = 11


# Phase entered by each token kind; None keeps the state (PAD, and tokens MidiTok skips).
_PHASE_AFTER: dict[Kind, Phase | None] = {
    Kind.PAD: None,
    Kind.BOS: Phase.BOS,
    Kind.EOS: Phase.END,
    Kind.BAR: Phase.BAR,
    Kind.TIME_SIG: Phase.TIME_SIG,
    Kind.POSITION: Phase.POSITION,
    Kind.TEMPO: Phase.TEMPO,
    Kind.PITCH: Phase.PITCH,
    Kind.PITCH_DRUM: Phase.PITCH,
    Kind.VELOCITY: Phase.VELOCITY,
    Kind.DURATION: Phase.DURATION,
    Kind.IGNORED: None,
    Kind.PERFORMER: Phase.PERFORMER,
    Kind.STYLE: Phase.STYLE,
    Kind.RESERVED: None,
}

# Token kinds allowed after each phase (Position further limited by the bar, EOS and BOS by config).
_ALLOWED_KINDS: dict[Phase, frozenset[Kind]] = {
    Phase.START: frozenset({Kind.BOS, Kind.BAR}),
    Phase.BOS: frozenset({Kind.BAR, Kind.STYLE}),
    Phase.STYLE: frozenset({Kind.BAR}),
    Phase.BAR: frozenset({Kind.TIME_SIG}),
    Phase.TIME_SIG: frozenset({Kind.POSITION, Kind.BAR, Kind.EOS}),
    Phase.POSITION: frozenset({Kind.TEMPO, Kind.PITCH, Kind.PERFORMER}),
    Phase.TEMPO: frozenset({Kind.PITCH, Kind.PERFORMER, Kind.POSITION, Kind.BAR, Kind.EOS}),
    Phase.PERFORMER: frozenset({Kind.PITCH}),
    Phase.PITCH: frozenset({Kind.VELOCITY}),
    Phase.VELOCITY: frozenset({Kind.DURATION}),
    Phase.DURATION: frozenset({Kind.PITCH, Kind.PERFORMER, Kind.POSITION, Kind.BAR, Kind.EOS}),
    Phase.END: frozenset({Kind.PAD}),
}


@dataclass(frozen=True)
class GrammarConfig:
    """Options of the grammar.

    Attributes:
        allow_eos: whether a stream may end (EOS, then only PAD). The live engine never ends.
        allow_bos: whether BOS may open a stream (it is never allowed later).
        allow_repeated_position: whether a Position may repeat the bar's previous one. MidiTok
            writes such repeats for a few mixed-meter pieces (two ticks that fall in one
            position after its resampling); they decode fine but let time stand still.
        allow_performer: whether the stream may write a performer's note (a v2 `Performer` marker);
            the model plays its own part, so only a data check sets it.
    """

    allow_eos: bool = False
    allow_bos: bool = True
    allow_repeated_position: bool = False
    allow_performer: bool = False


class GrammarTables:
    """Precomputed masks and transitions of the grammar for one vocabulary and config.

    States are numbered `(phase * num_time_signatures + ts_index) * (num_positions + 1) + slot`,
    where slot is 0 at the start of a bar and position + 1 after a Position token.

    Args:
        table: the vocabulary's lookup tables.
        config: grammar options.
    """

    def __init__(self, table: TokenTable, config: GrammarConfig | None = None) -> None:
        self.table = table
        self.config = config or GrammarConfig()
        kinds = np.asarray(table.kinds, dtype=np.int32)
        values = np.asarray(table.values, dtype=np.int32)
        num_ts = len(table.time_signatures)
        slots = int((kinds == Kind.POSITION).sum()) + 1
        self.num_states = len(Phase) * num_ts * slots
        phase, ts, slot = (a.ravel() for a in np.indices((len(Phase), num_ts, slots), dtype=np.int32))

        # Row-major, so that a state's row is one contiguous block (numpy's fancy indexing may not be).
        self.masks = torch.from_numpy(np.ascontiguousarray(self._masks(kinds, values, phase, ts, slot)))
        self.next_state = torch.from_numpy(
            np.ascontiguousarray(self._transitions(kinds, values, phase, ts, slot, num_ts, slots))
        )
        self.rows = list(self.masks.unbind(0))  # per-state views, for cheap single-stream lookups
        self.transitions = self.next_state.numpy()  # same memory, for cheap scalar indexing
        self.start_state = (Phase.START * num_ts + table.default_time_signature) * slots

    def _masks(
        self, kinds: np.ndarray, values: np.ndarray, phase: np.ndarray, ts: np.ndarray, slot: np.ndarray
    ) -> np.ndarray:
        config = self.config
        allowed_kind = np.zeros((len(Phase), len(Kind)), dtype=bool)
        for ph, allowed in _ALLOWED_KINDS.items():
            for kind in allowed:
                allowed_kind[ph, kind] = True
        allowed_kind[:, Kind.EOS] &= config.allow_eos
        allowed_kind[:, Kind.BOS] &= config.allow_bos
        allowed_kind[:, Kind.PERFORMER] &= config.allow_performer
        masks = allowed_kind[phase][:, kinds]  # (states, vocab)

        # Positions: from after the bar's last one (or at it) to the end of the bar.
        last_position = slot - 1  # -1 at the start of a bar
        lowest = np.maximum(last_position + (0 if config.allow_repeated_position else 1), 0)
        highest = np.asarray(self.table.positions_per_bar)[ts]
        is_position = kinds == Kind.POSITION
        in_bar = (values[None, :] >= lowest[:, None]) & (values[None, :] < highest[:, None])
        masks &= ~is_position[None, :] | in_bar
        return masks

    @staticmethod
    def _transitions(
        kinds: np.ndarray,
        values: np.ndarray,
        phase: np.ndarray,
        ts: np.ndarray,
        slot: np.ndarray,
        num_ts: int,
        slots: int,
    ) -> np.ndarray:
        after = [_PHASE_AFTER[kind] for kind in Kind]
        keep = np.array([p is None for p in after])[kinds]
        phase_after = np.array([0 if p is None else int(p) for p in after], dtype=np.int32)[kinds]
        next_ts = np.where(kinds == Kind.TIME_SIG, values, ts[:, None])
        next_slot = np.where(kinds == Kind.POSITION, values + 1, slot[:, None])
        next_slot = np.where(kinds == Kind.BAR, 0, next_slot)
        state = (phase * num_ts + ts) * slots + slot
        moved = (phase_after[None, :] * num_ts + next_ts) * slots + next_slot
        return np.where(keep[None, :], state[:, None], moved)


class GrammarState:
    """The grammar state of one stream.

    Args:
        tables: the grammar's precomputed tables (shared by every stream).
    """

    def __init__(self, tables: GrammarTables) -> None:
        self.tables = tables
        self._rows = tables.rows
        self._next = tables.transitions
        self.state = tables.start_state

    def reset(self) -> None:
        """Back to the start of a stream."""
        self.state = self.tables.start_state

    def allowed(self) -> torch.Tensor:
        """Bool mask over the vocabulary of the tokens allowed next (a shared row: do not modify)."""
        return self._rows[self.state]

    def allows(self, token_id: int) -> bool:
        """Whether `token_id` is allowed next."""
        return bool(self._rows[self.state][token_id])

    def advance(self, token_id: int) -> None:
        """Move past `token_id` (allowed or not)."""
        self.state = int(self._next[self.state, token_id])

    def advance_many(self, token_ids: Iterable[int]) -> None:
        """Move past several tokens, e.g. a prompt."""
        for token_id in token_ids:
            self.advance(token_id)


class BatchGrammar:
    """The grammar states of B streams, advanced together on one torch device.

    Args:
        tables: the grammar's precomputed tables.
        batch_size: number of streams B.
        device: where masks are returned and tokens are read.
    """

    def __init__(self, tables: GrammarTables, batch_size: int, device: torch.device | str = "cpu") -> None:
        self.tables = tables
        self.device = torch.device(device)
        self._masks = tables.masks.to(self.device)
        self._next = tables.next_state.to(self.device)
        self.states = torch.full((batch_size,), tables.start_state, dtype=torch.long, device=self.device)

    @classmethod
    def from_states(
        cls, tables: GrammarTables, states: Sequence[GrammarState], device: torch.device | str = "cpu"
    ) -> BatchGrammar:
        """A batch continuing single streams (e.g. each primed with its own prompt)."""
        batch = cls(tables, len(states), device)
        batch.states = torch.tensor([s.state for s in states], dtype=torch.long, device=batch.device)
        return batch

    def reset(self) -> None:
        """Every stream back to its start."""
        self.states.fill_(self.tables.start_state)

    def allowed(self) -> torch.Tensor:
        """(B, vocab) bool mask of the tokens allowed next in each stream."""
        return self._masks[self.states]

    def mask_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """`logits` (B, vocab) with forbidden tokens set to -inf."""
        return logits.masked_fill(~self.allowed(), float("-inf"))

    def advance(self, token_ids: torch.Tensor) -> None:
        """Move each stream past its token; `token_ids` is (B,) on this device."""
        self.states = self._next[self.states, token_ids].long()

    def advance_many(self, token_ids: torch.Tensor) -> None:
        """Move each stream past its row of tokens, e.g. its prompt; `token_ids` is (B, T) on this device."""
        for column in token_ids.T:
            self.advance(column)
