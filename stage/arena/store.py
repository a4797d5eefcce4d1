"""The arena's SQLite database (WAL): entries, chunks, the pairs offered to listeners, and the votes.

Human and machine votes live in separate tables. A human vote must answer a pair the server offered
to that listener (an `offers` row), once, after both chunks were played for `min_play_s`; the check
and the insert are one `BEGIN IMMEDIATE` transaction, and `human_votes.offer` is unique, so two
browsers voting at once both land and no pair is answered twice. Every call opens its own connection,
so the web server's threads and a judge in another process can use one database together.

Chunk files live beside the database, in `ARENA.chunks/ENTRY/` (paths stored relative to the database's
folder).
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from encore.models.errors import EncoreError

VOTERS = ("human", "machine", "all")
ANSWERS = ("a", "b", "draw")
DEFAULT_DB = Path("arena.sqlite")

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    length_s REAL NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    idx INTEGER NOT NULL,
    start_s REAL NOT NULL,
    length_s REAL NOT NULL,
    notes INTEGER NOT NULL,
    midi TEXT NOT NULL,
    audio TEXT NOT NULL,
    UNIQUE (entry_id, idx)
);
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY,
    listener TEXT NOT NULL,
    chunk_a INTEGER NOT NULL REFERENCES chunks(id),
    chunk_b INTEGER NOT NULL REFERENCES chunks(id),
    offered_at REAL NOT NULL,
    answered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS human_votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    listener TEXT NOT NULL,
    offer TEXT NOT NULL UNIQUE REFERENCES offers(id),
    voted_at REAL NOT NULL,
    chunk_a INTEGER NOT NULL REFERENCES chunks(id),
    chunk_b INTEGER NOT NULL REFERENCES chunks(id),
    answer TEXT NOT NULL CHECK (answer IN ('a', 'b', 'draw')),
    played_a_s REAL NOT NULL,
    played_b_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS machine_votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    judge TEXT NOT NULL,
    voted_at REAL NOT NULL,
    chunk_a INTEGER NOT NULL REFERENCES chunks(id),
    chunk_b INTEGER NOT NULL REFERENCES chunks(id),
    answer TEXT NOT NULL CHECK (answer IN ('a', 'b', 'draw')),
    score_a REAL NOT NULL,
    score_b REAL NOT NULL
);
"""

_VOTE_QUERY = """
SELECT v.id, v.{voter}, v.voted_at, v.chunk_a, v.chunk_b, ca.entry_id, cb.entry_id, v.answer, {scores}
FROM {table} v JOIN chunks ca ON ca.id = v.chunk_a JOIN chunks cb ON cb.id = v.chunk_b
WHERE v.id > ? {judge} ORDER BY v.id
"""


class ArenaError(EncoreError):
    """A database that is missing, or a name or chunk that is not in it."""


class VoteRefused(EncoreError):
    """A human vote the arena does not take; `kind` says why: unknown, forbidden, answered, early or invalid."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class EntryRow:
    """An entry in the arena."""

    id: int
    name: str
    source: str
    length_s: float
    chunks: int


@dataclass(frozen=True)
class ChunkRow:
    """A chunk with its files (absolute paths)."""

    id: int
    entry_id: int
    entry: str
    index: int
    start_s: float
    length_s: float
    notes: int
    midi: Path
    audio: Path


@dataclass(frozen=True)
class Offer:
    """A pair offered to a listener: chunk A and chunk B."""

    id: str
    listener: str
    chunk_a: int
    chunk_b: int
    offered_at: float
    answered: bool


@dataclass(frozen=True)
class Vote:
    """One vote, human or machine; `voter` is the listener id or the judge's name."""

    kind: str
    id: int
    voter: str
    voted_at: float
    chunk_a: int
    chunk_b: int
    entry_a: int
    entry_b: int
    answer: str
    score_a: float | None = None
    score_b: float | None = None


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored, its files relative to the database's folder."""

    index: int
    start_s: float
    length_s: float
    notes: int
    midi: str
    audio: str


class ArenaStore:
    """One arena database.

    Args:
        path: The SQLite file.
        create: Create it (and its tables) if missing; otherwise a missing file is an error.
        now: The clock for times stored with offers and votes.

    Raises:
        ArenaError: `create` is False and there is no database at `path`.
    """

    def __init__(self, path: Path, create: bool = False, now: Callable[[], float] = time.time) -> None:
        self.path = Path(path).resolve()
        self.now = now
        if not create and not self.path.is_file():
            raise ArenaError(f"{self.path}: no arena database (add entries with `encore arena add`)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @property
    def chunk_root(self) -> Path:
        """The folder of chunk files: `ARENA.chunks` beside `ARENA.sqlite`."""
        return self.path.with_suffix(".chunks")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection in autocommit mode (transactions are explicit), closed afterwards."""
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (`BEGIN IMMEDIATE`), committed or rolled back."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # entries and chunks

    def entries(self) -> list[EntryRow]:
        """Every entry, in the order added."""
        with self.connect() as db:
            rows = db.execute("SELECT e.id, e.name, e.source, e.length_s, COUNT(c.id) FROM entries e "
                              "LEFT JOIN chunks c ON c.entry_id = e.id GROUP BY e.id ORDER BY e.id").fetchall()
        return [EntryRow(*row) for row in rows]

    def has_entry(self, name: str) -> bool:
        """Whether an entry of this name exists."""
        with self.connect() as db:
            return db.execute("SELECT 1 FROM entries WHERE name = ?", (name,)).fetchone() is not None

    def add_entry(self, name: str, source: str, length_s: float, chunks: Sequence[NewChunk]) -> int:
        """Store an entry and its chunks in one transaction; return its id.

        Raises:
            ArenaError: an entry of that name exists.
        """
        try:
            with self.transaction() as db:
                entry = db.execute("INSERT INTO entries (name, source, length_s, added_at) VALUES (?, ?, ?, ?)",
                                   (name, source, length_s, self.now())).lastrowid
                db.executemany("INSERT INTO chunks (entry_id, idx, start_s, length_s, notes, midi, audio) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(entry, c.index, c.start_s, c.length_s, c.notes, c.midi, c.audio) for c in chunks])
        except sqlite3.IntegrityError:
            raise ArenaError(f"the arena already has an entry named {name!r}") from None
        assert entry is not None
        return entry

    def chunks(self, ids: Sequence[int] | None = None) -> list[ChunkRow]:
        """Chunks by id (all of them when `ids` is None), in entry and index order."""
        query = ("SELECT c.id, c.entry_id, e.name, c.idx, c.start_s, c.length_s, c.notes, c.midi, c.audio "
                 "FROM chunks c JOIN entries e ON e.id = c.entry_id")
        with self.connect() as db:
            if ids is None:
                rows = db.execute(query + " ORDER BY c.entry_id, c.idx").fetchall()
            else:
                marks = ",".join("?" * len(ids))
                rows = db.execute(query + f" WHERE c.id IN ({marks}) ORDER BY c.entry_id, c.idx", list(ids)).fetchall()
        root = self.path.parent
        return [ChunkRow(*row[:7], root / row[7], root / row[8]) for row in rows]

    def chunk(self, chunk_id: int) -> ChunkRow:
        """One chunk.

        Raises:
            ArenaError: no chunk has that id.
        """
        found = self.chunks([chunk_id])
        if not found:
            raise ArenaError(f"no chunk {chunk_id} in {self.path}")
        return found[0]

    def chunk_ids_by_entry(self) -> dict[int, list[int]]:
        """Each entry's chunk ids (entries without chunks left out)."""
        with self.connect() as db:
            rows = db.execute("SELECT entry_id, id FROM chunks ORDER BY entry_id, idx").fetchall()
        grouped: dict[int, list[int]] = {}
        for entry, chunk in rows:
            grouped.setdefault(entry, []).append(chunk)
        return grouped

    # offers and votes

    def add_offer(self, listener: str, chunk_a: int, chunk_b: int) -> Offer:
        """Offer a pair to a listener."""
        offer = Offer(secrets.token_urlsafe(16), listener, chunk_a, chunk_b, self.now(), False)
        with self.transaction() as db:
            db.execute("INSERT INTO offers (id, listener, chunk_a, chunk_b, offered_at) VALUES (?, ?, ?, ?, ?)",
                       (offer.id, offer.listener, offer.chunk_a, offer.chunk_b, offer.offered_at))
        return offer

    def offer(self, offer_id: str) -> Offer | None:
        """An offered pair, or None if the server never offered it."""
        with self.connect() as db:
            row = db.execute("SELECT id, listener, chunk_a, chunk_b, offered_at, answered FROM offers WHERE id = ?",
                             (offer_id,)).fetchone()
        return None if row is None else Offer(*row[:5], bool(row[5]))

    def add_human_vote(self, offer_id: str, listener: str, answer: str, played_a_s: float, played_b_s: float,
                       min_play_s: float) -> Vote:
        """Record a listener's answer to a pair offered to them.

        Raises:
            VoteRefused: the pair was not offered (to this listener), was answered already, the answer is
                not a, b or draw, or a chunk was played for less than `min_play_s`.
        """
        if answer not in ANSWERS:
            raise VoteRefused(f"answer {answer!r}: use a, b or draw", "invalid")
        if not all(math.isfinite(seconds) and seconds >= 0 for seconds in (played_a_s, played_b_s)):
            raise VoteRefused("played seconds must be finite numbers >= 0", "invalid")
        with self.transaction() as db:
            row = db.execute("SELECT listener, chunk_a, chunk_b, offered_at, answered FROM offers WHERE id = ?",
                             (offer_id,)).fetchone()
            if row is None:
                raise VoteRefused("this pair was not offered by the server", "unknown")
            owner, chunk_a, chunk_b, offered_at, answered = row
            if owner != listener:
                raise VoteRefused("this pair was offered to another listener", "forbidden")
            if answered:
                raise VoteRefused("this pair was answered already", "answered")
            now = self.now()
            if min(played_a_s, played_b_s, now - offered_at) < min_play_s:
                raise VoteRefused(f"play both chunks for at least {min_play_s:g} s before voting", "early")
            vote_id = db.execute("INSERT INTO human_votes (listener, offer, voted_at, chunk_a, chunk_b, answer, "
                                 "played_a_s, played_b_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (listener, offer_id, now, chunk_a, chunk_b, answer, played_a_s, played_b_s)).lastrowid
            db.execute("UPDATE offers SET answered = 1 WHERE id = ?", (offer_id,))
            entries = db.execute("SELECT (SELECT entry_id FROM chunks WHERE id = ?), "
                                 "(SELECT entry_id FROM chunks WHERE id = ?)", (chunk_a, chunk_b)).fetchone()
        assert vote_id is not None
        return Vote("human", vote_id, listener, now, chunk_a, chunk_b, entries[0], entries[1], answer)

    def add_machine_vote(self, judge: str, chunk_a: int, chunk_b: int, answer: str, score_a: float,
                         score_b: float) -> Vote:
        """Record a machine judge's answer (logged apart from human votes)."""
        if answer not in ANSWERS:
            raise ArenaError(f"answer {answer!r}: use a, b or draw")
        now = self.now()
        with self.transaction() as db:
            vote_id = db.execute("INSERT INTO machine_votes (judge, voted_at, chunk_a, chunk_b, answer, score_a, "
                                 "score_b) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (judge, now, chunk_a, chunk_b, answer, score_a, score_b)).lastrowid
            entries = db.execute("SELECT (SELECT entry_id FROM chunks WHERE id = ?), "
                                 "(SELECT entry_id FROM chunks WHERE id = ?)", (chunk_a, chunk_b)).fetchone()
        assert vote_id is not None
        return Vote("machine", vote_id, judge, now, chunk_a, chunk_b, entries[0], entries[1], answer, score_a, score_b)

    def votes(self, voters: str = "all", judge: str | None = None, after: dict[str, int] | None = None) -> list[Vote]:
        """Votes in the order they were cast (human and machine merged by time).

        Args:
            voters: `human`, `machine` or `all`.
            judge: Only this machine judge's votes (human votes are unaffected).
            after: Per kind, only votes with a larger id (for incremental reading).
        """
        if voters not in VOTERS:
            raise ArenaError(f"voters {voters!r}: use one of {', '.join(VOTERS)}")
        after = after or {}
        found: list[Vote] = []
        with self.connect() as db:
            if voters in ("human", "all"):
                query = _VOTE_QUERY.format(voter="listener", scores="NULL, NULL", table="human_votes", judge="")
                found += [Vote("human", *row) for row in db.execute(query, (after.get("human", 0),))]
            if voters in ("machine", "all"):
                query = _VOTE_QUERY.format(voter="judge", scores="v.score_a, v.score_b", table="machine_votes",
                                           judge="" if judge is None else "AND v.judge = ?")
                parameters = (after.get("machine", 0),) + (() if judge is None else (judge,))
                found += [Vote("machine", *row) for row in db.execute(query, parameters)]
        return sorted(found, key=lambda vote: (vote.voted_at, vote.kind, vote.id))

    def judges(self) -> list[str]:
        """Names of the machine judges that voted."""
        with self.connect() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT judge FROM machine_votes ORDER BY judge")]
