"""Votes as a pairwise preference data set: one JSON object a line.

Each line holds both chunks (entry name, chunk index, start and length in the entry, and absolute
paths of the chunk's MIDI file and audio file) and the `winner` (`a`, `b` or `draw`), with who voted
(`kind` human or machine, `voter` the anonymous listener id or the judge's name), when (UTC, ISO 8601)
and, for machine votes, the judge's two scores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from encore.stage.arena.store import ArenaStore, ChunkRow, Vote


def chunk_reference(chunk: ChunkRow) -> dict:
    """Where a chunk comes from and where its files are."""
    return {"entry": chunk.entry, "chunk": chunk.index, "start_s": round(chunk.start_s, 3),
            "length_s": round(chunk.length_s, 3), "midi": str(chunk.midi), "audio": str(chunk.audio)}


def vote_record(vote: Vote, chunks: dict[int, ChunkRow]) -> dict:
    """One line of the data set."""
    record = {"kind": vote.kind, "voter": vote.voter,
              "voted_at": datetime.fromtimestamp(vote.voted_at, UTC).isoformat(timespec="milliseconds"),
              "a": chunk_reference(chunks[vote.chunk_a]), "b": chunk_reference(chunks[vote.chunk_b]),
              "winner": vote.answer}
    if vote.score_a is not None and vote.score_b is not None:
        record["scores"] = {"a": vote.score_a, "b": vote.score_b}
    return record


def export_pairs(store: ArenaStore, out: Path, voters: str = "all", judge: str | None = None) -> int:
    """Write the votes to `out` (JSON lines, written whole then moved into place); return how many."""
    votes = store.votes(voters, judge)
    chunks = {chunk.id: chunk for chunk in store.chunks()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as file:
        for vote in votes:
            file.write(json.dumps(vote_record(vote, chunks)) + "\n")
    partial.replace(out)
    return len(votes)
