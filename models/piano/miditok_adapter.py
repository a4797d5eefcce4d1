"""Every reach into MidiTok's internals, in one place.

The streaming decoder reproduces MidiTok's REMI decode tick for tick, so it needs the numbers that
decode uses, and MidiTok keeps several of them in private attributes or undocumented structures of
the tokenizer. Each such access is one small function here; nothing else in Encore touches them.
They were written against miditok 3.1.0 (pinned in `pyproject.toml`), and
`tests/models/piano/test_miditok_adapter.py` pins each one for our tokenizer config, so a MidiTok
release that changes one fails there with a message naming what changed.
"""

from __future__ import annotations

from miditok import MusicTokenizer
from miditok.constants import TIME_SIGNATURE
from miditok.utils import compute_ticks_per_bar
from symusic import TimeSignature

__all__ = [
    "MIDITOK_VERSION",
    "default_time_signature",
    "duration_ticks",
    "parse_time_signature",
    "ticks_per_bar",
    "ticks_per_beat",
    "ticks_per_position",
    "ticks_per_quarter",
    "time_signatures",
    "vocabulary",
]

MIDITOK_VERSION = "3.1.0"
"""The MidiTok release these accessors were checked against."""


def vocabulary(tokenizer: MusicTokenizer) -> list[tuple[str, str]]:
    """The (type, value) of every token, in token-id order.

    MidiTok names tokens `Type_Value` (`Bar_None`, `Duration_1.0.8`) and numbers them through the
    `vocab` dict; this assumes ids 0..len-1 with no gaps and one `_` per name.
    """
    pairs: list[tuple[str, str]] = []
    for token in sorted(tokenizer.vocab, key=tokenizer.vocab.__getitem__):
        tok_type, tok_val = token.split("_")
        pairs.append((tok_type, tok_val))
    return pairs


def time_signatures(tokenizer: MusicTokenizer) -> tuple[tuple[int, int], ...]:
    """(numerator, denominator) of each time signature in the vocabulary (`tokenizer.time_signatures`)."""
    return tuple((int(num), int(den)) for num, den in tokenizer.time_signatures)


def default_time_signature() -> tuple[int, int]:
    """The time signature MidiTok's decode assumes until a TimeSig token says otherwise (4/4)."""
    num, den = TIME_SIGNATURE
    return int(num), int(den)


def parse_time_signature(tokenizer: MusicTokenizer, value: str) -> tuple[int, int]:
    """(numerator, denominator) of a TimeSig token's value such as `"6/8"`, parsed as MidiTok does."""
    num, den = tokenizer._parse_token_time_signature(value)
    return int(num), int(den)


def ticks_per_quarter(tokenizer: MusicTokenizer) -> int:
    """Time division (ticks per quarter note) of the scores MidiTok's decode returns."""
    return int(tokenizer.time_division)


def ticks_per_beat(tokenizer: MusicTokenizer, denominator: int) -> int:
    """Ticks of one beat (one 1/`denominator` note) at the decode's time division (`_tpb_per_ts`)."""
    return int(tokenizer._tpb_per_ts[denominator])


def ticks_per_position(tokenizer: MusicTokenizer, beat_ticks: int) -> int:
    """Ticks between two Positions when a beat lasts `beat_ticks` (REMI's `_compute_ticks_per_pos`)."""
    return int(tokenizer._compute_ticks_per_pos(beat_ticks))


def ticks_per_bar(time_signature: tuple[int, int], tpq: int) -> int:
    """Ticks of one bar of `time_signature` at `tpq` ticks per quarter note."""
    num, den = time_signature
    return int(compute_ticks_per_bar(TimeSignature(0, num, den), tpq))


def duration_ticks(tokenizer: MusicTokenizer, beat_ticks: int, value: str) -> int:
    """Ticks of a Duration value such as `"1.0.8"` when a beat lasts `beat_ticks` (`_tpb_tokens_to_ticks`)."""
    return int(tokenizer._tpb_tokens_to_ticks[beat_ticks][value])
