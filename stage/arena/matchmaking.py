"""Which pair to play next: informative pairs, as TrueSkill suggests.

The entry whose rating is least certain (highest sigma; ties broken at random) plays the opponent
with the best match quality against it (the most even game, whose outcome teaches the most); a
random chunk of each is played, in random order as A and B.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from encore.stage.arena.ratings import RatingBook
from encore.stage.arena.store import ArenaError


def choose_pair(book: RatingBook, chunks_by_entry: Mapping[int, Sequence[int]], rng: random.Random) -> tuple[int, int]:
    """Chunk ids (A, B) from two different entries.

    Raises:
        ArenaError: fewer than two entries have chunks.
    """
    entries = [entry for entry, chunks in chunks_by_entry.items() if chunks]
    if len(entries) < 2:
        raise ArenaError("the arena needs at least two entries to compare (add them with `encore arena add`)")
    first = max(entries, key=lambda entry: (book.rating(entry).sigma, rng.random()))
    second = max((entry for entry in entries if entry != first),
                 key=lambda entry: (book.quality(first, entry), rng.random()))
    pair = [rng.choice(chunks_by_entry[first]), rng.choice(chunks_by_entry[second])]
    rng.shuffle(pair)
    return pair[0], pair[1]
