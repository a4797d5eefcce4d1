"""Tokens of a piece with two roles, the model's own part and the performer's, in the v2 layout.

MidiTok's REMI with programs writes `Program_p Pitch Velocity Duration` per note in one stream. The
own part is program 0, the performer's program 1; the stream is then rewritten into the v2 vocabulary:
at each position the performer's notes come first, each after `Performer_None`, then the model's own,
each group in MidiTok's own order, and `Program` tokens are gone. With no performer part
the result is exactly the plain REMI+ encoding of the own part, so solo files read as in v1.
An own note at a performer note's position and pitch is dropped (the performer's sounds).
"""

from __future__ import annotations

import numpy as np
from miditok import REMI
from symusic import Score, Track

from encore.models.piano.tokenizer import PERFORMER_TOKEN, RemiPlusSettings

OWN_PROGRAM, PERFORMER_PROGRAM = 0, 1


def program_tokenizer(settings: RemiPlusSettings) -> REMI:
    """REMI+ with the two role programs in one stream (only used to lay out the notes)."""
    config = settings.to_miditok()
    config.use_programs = True
    config.programs = [OWN_PROGRAM, PERFORMER_PROGRAM]
    config.one_token_stream_for_programs = True
    config.program_changes = False
    return REMI(config)


def two_part_score(score: Score, own: Track, performer: Track | None) -> Score:
    """`score`'s tempos and time signatures with the own part (program 0) and the performer's (program 1)."""
    out = Score(score.tpq)
    out.tempos, out.time_signatures = score.tempos.copy(), score.time_signatures.copy()
    if performer is not None and len(performer.notes):
        lead = Track(name="performer", program=PERFORMER_PROGRAM)
        lead.notes = performer.notes.copy()
        out.tracks.append(lead)
    mine = Track(name="own", program=OWN_PROGRAM)
    mine.notes = own.notes.copy()
    out.tracks.insert(0, mine)
    return out


def role_tokens(program_tokens: list[str]) -> list[str]:
    """A one-stream program encoding rewritten in the v2 layout (see the module docstring)."""
    out: list[str] = []
    groups: list[tuple[bool, list[str]]] = []  # (is performer, Pitch Velocity Duration)

    def flush() -> None:
        taken = {note[0] for is_performer, note in groups if is_performer}
        for is_performer, note in sorted(groups, key=lambda group: not group[0]):  # stable: MidiTok's order
            if is_performer:
                out.extend([PERFORMER_TOKEN, *note])
            elif note[0] not in taken:
                out.extend(note)
        groups.clear()

    index = 0
    while index < len(program_tokens):
        token = program_tokens[index]
        if token.startswith("Program_"):
            groups.append((int(token.split("_")[1]) == PERFORMER_PROGRAM, program_tokens[index + 1 : index + 4]))
            index += 4
            continue
        flush()
        out.append(token)
        index += 1
    flush()
    return out


def encode_roles(score: Score, own: Track, performer: Track | None, tokenizer: REMI,
                 programs: REMI) -> np.ndarray:
    """Token ids (in `tokenizer`'s v2 vocabulary) of the own part with the performer's notes marked."""
    encoded = programs.encode(two_part_score(score, own, performer))
    sequence = encoded[0] if isinstance(encoded, list) else encoded
    vocab = tokenizer.vocab
    return np.array([vocab[token] for token in role_tokens(list(sequence.tokens))], dtype=np.int64)
