"""A performer's notes into a live piano stream's context, at their positions in the bar (the duet).

REMI+ is in time order, so a note played at beat b can only enter the context where the stream was at
b. `insert_notes` takes the stream back there and lays the performer's notes in among what it had
sampled since, then lets it sample on:

1. the stream goes back to its last exact step at or before the first note (`PianoStream.rewind_before`),
   which returns the tokens it sampled from there;
2. those tokens are fed again as forced tokens (`PianoStream.feed_forced`, one forward pass), each performer
   note spelled `[Position] Pitch Velocity Duration` at its place among them (its onset quantized to the
   position grid, its velocity and duration to the nearest token), up to the first `Bar` or `Position`
   at or after `keep_until` (the commit horizon) and past every performer note;
3. the stream samples on from there, with the performer's notes in its KV cache, grammar, decoder and
   repetition window. The beat it stops at is returned: the notes the stream had completed from there
   on are void (they are sampled again), every earlier one stands, so the model's notes already sent
   stay sent.

With a v2 vocabulary (one that has the `Performer` marker, `encore.models.piano.tokenizer`) the notes are laid
as training lays them: each performer note spelled `Performer Pitch Velocity Duration`, first at its position
(right after the Position and its Tempo, before the model's own notes there), and a model note at the same
position and pitch as a performer note is left out of the context (the performer's sounds; training never
holds both).

Notes the decoder completes while the tokens are fed again are not returned: the model's own were
returned before, and the performer's are his to sound. Where the stream cannot reach back to the
first note (a prime since, or further back than it remembers), nothing is inserted and it rewinds to
`keep_until` as `PianoStream.rewind_to` does.
"""

from __future__ import annotations

from collections.abc import Sequence

from encore.models.notes import NoteEvent
from encore.models.piano.stream import PianoStream, StreamMark
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder, TokenTable

_MOVES = (int(Kind.BAR), int(Kind.POSITION))
_NOTE_READY = (int(Kind.POSITION), int(Kind.TEMPO), int(Kind.DURATION))
"""After these kinds a Pitch may follow at the same position (after Bar or TimeSig a Position must come)."""
_POSITION_OPEN = (int(Kind.POSITION), int(Kind.TEMPO))
"""After these kinds no note stands at the position yet: a v2 performer note goes here."""


class NoteSpeller:
    """Notes to REMI+ token ids of one vocabulary: quantized onsets, nearest velocity and duration.

    Args:
        table: The vocabulary's tables.
    """

    def __init__(self, table: TokenTable) -> None:
        self.table = table
        kinds, values = table.kinds, table.values
        self.positions = {values[i]: i for i, kind in enumerate(kinds) if kind == Kind.POSITION}
        self.pitches = {values[i]: i for i, kind in enumerate(kinds) if kind == Kind.PITCH}
        self.velocities = [(values[i], i) for i, kind in enumerate(kinds) if kind == Kind.VELOCITY]
        self.durations = [i for i, kind in enumerate(kinds) if kind == Kind.DURATION]
        self.marker = next((i for i, kind in enumerate(kinds) if kind == Kind.PERFORMER), None)

    def onset_tick(self, decoder: StreamingDecoder, beats: float) -> int:
        """The tick (of `decoder`'s stream) of the position nearest `beats`, under its time signature."""
        step = self.table.ticks_per_position[decoder.state().time_signature]
        return round((beats - decoder.start_beats) * self.table.ticks_per_quarter / step) * step

    def spell(self, note: NoteEvent, tick: int, decoder: StreamingDecoder, last_kind: int | None) -> list[int]:
        """The tokens of `note` at `tick` of the bar `decoder` is in (a Position first unless it stands there)."""
        state = decoder.state()
        step = self.table.ticks_per_position[state.time_signature]
        tokens = []
        if state.tick != tick or last_kind not in _NOTE_READY:
            index = min(max((tick - state.bar_tick) // step, 0), self.table.positions_per_bar[state.time_signature] - 1)
            tokens.append(self.positions[index])
        duration_ticks = self.table.duration_ticks[state.time_signature]
        wanted = note.duration_beats * self.table.ticks_per_quarter
        if self.marker is not None:
            tokens.append(self.marker)
        tokens.append(self.pitches[note.pitch])
        tokens.append(min(self.velocities, key=lambda item: abs(item[0] - note.velocity))[1])
        tokens.append(min(self.durations, key=lambda token: abs(duration_ticks[token] - wanted)))
        return tokens


def _rewind_for(stream: PianoStream, speller: NoteSpeller, onset_beats: float) -> list[int] | None:
    """Take the stream back for a note at `onset_beats`; return the tokens to feed again (None: out of reach).

    v1: to the last step at or before the note (it follows the model's own notes there). v2: the note leads
    its position, so unless that step is right after the Position (or its Tempo) of the note's place on the
    grid (the grid of the time signature there), or before that place, the stream goes back once more to
    such a step, if it remembers that far.
    """
    replay = stream.rewind_before(onset_beats)
    if replay is None or speller.marker is None:
        return replay
    decoder, kinds = stream.decoders[0], speller.table.kinds
    grid_beats = decoder.start_beats + speller.onset_tick(decoder, onset_beats) / speller.table.ticks_per_quarter

    def before_its_notes(mark: StreamMark | None = None) -> bool:
        position, last = (mark.position_beats, mark.last_tokens) if mark else (stream.position_beats, stream.last_tokens)
        return position < grid_beats - 1e-9 or bool(last) and kinds[last[0]] in _POSITION_OPEN

    if before_its_notes():
        return replay
    earlier = stream.rewind_before(grid_beats, where=before_its_notes)
    return replay if earlier is None else earlier + replay


def insert_notes(stream: PianoStream, notes: Sequence[NoteEvent], keep_until: float) -> float | None:
    """Put `notes` (onsets in the stream's beats) into the stream's context where they were played.

    Args:
        stream: A stream with rewinds enabled (`enable_rewind`); its first stream is the one changed.
        notes: The performer's notes; pitches outside the vocabulary are left out.
        keep_until: What the stream sampled before this beat stands (the commit horizon).

    Returns:
        The beat the stream samples on from: its notes completed before from there on are void. None
        when nothing is void (it had not sampled past `keep_until`).
    """
    table = stream.decoders[0].table
    speller = NoteSpeller(table)
    wanted = sorted((note for note in notes if note.pitch in speller.pitches), key=lambda n: (n.onset_beats, n.pitch))
    replay = _rewind_for(stream, speller, wanted[0].onset_beats) if wanted else None
    if replay is None:
        return stream.rewind_to(keep_until)
    scratch = StreamingDecoder(table)
    scratch.restore(stream.decoders[0].state())
    pending = [(speller.onset_tick(scratch, note.onset_beats), note) for note in wanted]
    last_kind: int | None = table.kinds[stream.last_tokens[0]] if stream.last_tokens else None
    forced: list[int] = []

    def feed(token: int) -> None:
        nonlocal last_kind
        forced.append(token)
        scratch.feed(token)
        last_kind = table.kinds[token]

    def place_pending(before_tick: float) -> set[int]:
        placed = set()
        while pending and pending[0][0] < before_tick:
            tick, note = pending.pop(0)
            for token in speller.spell(note, max(tick, scratch.state().tick), scratch, last_kind):
                feed(token)
            placed.add(note.pitch)
        return placed

    roles = speller.marker is not None
    performer_here: set[int] = set()  # v2: performer pitches laid at the current position
    dropped = 0  # v2: tokens left of a model note that doubles a performer note
    void: float | None = None
    for token in replay:
        kind = table.kinds[token]
        if dropped:
            dropped -= 1
            continue
        if roles and kind in (Kind.PITCH, Kind.PERFORMER) and last_kind in _POSITION_OPEN:
            performer_here = place_pending(scratch.state().tick + 1)
        if roles and kind == Kind.PITCH and last_kind != Kind.PERFORMER and table.values[token] in performer_here:
            dropped = 2  # its Velocity and Duration
            continue
        if kind in _MOVES:
            performer_here = set()
            state = scratch.state()
            scratch.feed(token)
            after_tick, after = scratch.state().tick, scratch.position_beats
            scratch.restore(state)
            place_pending(after_tick)
            if after >= keep_until and not pending:
                feed(token)
                void = after
                break
        feed(token)
    else:
        place_pending(float("inf"))
    stream.feed_forced(forced)
    return void
