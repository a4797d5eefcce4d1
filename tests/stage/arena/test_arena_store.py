"""The arena database: human votes only for pairs offered to that listener, once, after playing; many
threads voting at once lose nothing; human and machine votes are kept apart; ratings replay in order."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from encore.stage.arena.matchmaking import choose_pair
from encore.stage.arena.ratings import MU, SIGMA, K, RatingBook, load_book
from encore.stage.arena.store import ArenaError, ArenaStore, NewChunk, VoteRefused


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> ArenaStore:
    arena = ArenaStore(tmp_path / "arena.sqlite", create=True, now=clock)
    for name in ("first", "second", "third"):
        arena.add_entry(name, f"/entries/{name}.mid", 60.0,
                        [NewChunk(i, 30.0 * i, 30.0, 10, f"x/{name}/{i}.mid", f"x/{name}/{i}.ogg") for i in range(2)])
    return arena


def chunks_of(store: ArenaStore) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for chunk in store.chunks():
        grouped.setdefault(chunk.entry, []).append(chunk.id)
    return grouped


def test_the_database_is_in_wal_mode_and_must_exist_unless_created(tmp_path: Path, store: ArenaStore) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(ArenaError, match="no arena database"):
        ArenaStore(tmp_path / "missing.sqlite")
    assert [e.name for e in store.entries()] == ["first", "second", "third"]
    assert [e.chunks for e in store.entries()] == [2, 2, 2]
    assert store.chunk(1).audio == tmp_path / "x/first/0.ogg"
    with pytest.raises(ArenaError, match="already has an entry named 'first'"):
        store.add_entry("first", "/elsewhere.mid", 10.0, [])


def test_a_vote_must_answer_a_pair_offered_to_this_listener_once_after_playing(store: ArenaStore, clock: Clock) -> None:
    ids = chunks_of(store)
    offer = store.add_offer("listener-1", ids["first"][0], ids["second"][1])
    with pytest.raises(VoteRefused, match="not offered") as refused:
        store.add_human_vote("made-up-offer", "listener-1", "a", 10, 10, min_play_s=5)
    assert refused.value.kind == "unknown"
    with pytest.raises(VoteRefused, match="another listener") as refused:
        store.add_human_vote(offer.id, "listener-2", "a", 10, 10, min_play_s=5)
    assert refused.value.kind == "forbidden"
    clock.now += 3
    with pytest.raises(VoteRefused, match="at least 5 s") as refused:  # too soon after the offer
        store.add_human_vote(offer.id, "listener-1", "a", 10, 10, min_play_s=5)
    clock.now += 3
    with pytest.raises(VoteRefused, match="at least 5 s"):  # B played too little
        store.add_human_vote(offer.id, "listener-1", "a", 10, 4.5, min_play_s=5)
    with pytest.raises(VoteRefused, match="use a, b or draw") as refused:
        store.add_human_vote(offer.id, "listener-1", "A is better", 10, 10, min_play_s=5)
    assert refused.value.kind == "invalid"
    assert store.votes() == []
    vote = store.add_human_vote(offer.id, "listener-1", "b", 6.5, 7.0, min_play_s=5)
    assert (vote.kind, vote.chunk_a, vote.chunk_b, vote.answer, vote.voted_at) == (
        "human", offer.chunk_a, offer.chunk_b, "b", clock.now)
    with pytest.raises(VoteRefused, match="answered already") as refused:
        store.add_human_vote(offer.id, "listener-1", "a", 10, 10, min_play_s=5)
    assert refused.value.kind == "answered"
    assert store.votes() == [vote] and store.offer(offer.id).answered


def test_threads_voting_at_once_lose_nothing(store: ArenaStore, clock: Clock) -> None:
    ids = chunks_of(store)
    listeners = [f"listener-{i}" for i in range(8)]
    offers = {who: [store.add_offer(who, ids["first"][0], ids["third"][1]) for _ in range(15)] for who in listeners}
    clock.now += 60
    start = threading.Barrier(len(listeners))
    errors: list[BaseException] = []

    def vote_all(who: str) -> None:
        start.wait()
        try:
            for offer in offers[who]:
                store.add_human_vote(offer.id, who, "a", 30, 30, min_play_s=5)
                with pytest.raises(VoteRefused):  # a second answer from a double click is refused
                    store.add_human_vote(offer.id, who, "b", 30, 30, min_play_s=5)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=vote_all, args=(who,)) for who in listeners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    votes = store.votes("human")
    assert len(votes) == 8 * 15 and {v.answer for v in votes} == {"a"}
    assert sorted(v.id for v in votes) == list(range(1, 121))


def test_machine_votes_are_kept_apart_and_filtered_by_judge(store: ArenaStore, clock: Clock) -> None:
    ids = chunks_of(store)
    offer = store.add_offer("listener", ids["first"][0], ids["second"][0])
    clock.now += 10
    store.add_human_vote(offer.id, "listener", "draw", 10, 10, min_play_s=5)
    clock.now += 1
    store.add_machine_vote("scale", ids["second"][1], ids["third"][0], "a", 0.9, 0.7)
    clock.now += 1
    store.add_machine_vote("density", ids["third"][0], ids["first"][1], "b", 0.5, 0.6)
    assert [v.kind for v in store.votes("all")] == ["human", "machine", "machine"]
    assert [v.voter for v in store.votes("human")] == ["listener"]
    assert [v.voter for v in store.votes("machine")] == ["scale", "density"]
    assert [v.voter for v in store.votes("machine", judge="density")] == ["density"]
    assert store.judges() == ["density", "scale"]
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM human_votes").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM machine_votes").fetchone() == (2,)
    with pytest.raises(ArenaError, match="voters"):
        store.votes("robots")


def test_trueskill_ratings_and_the_leaderboard_order(store: ArenaStore, clock: Clock) -> None:
    ids = chunks_of(store)
    assert K == pytest.approx(25 / 8.334) and (MU, SIGMA) == (25.0, 8.334)
    fresh = load_book(store).standings(store.entries())
    assert all((s.mu, s.sigma, s.evaluations) == (25.0, 8.334, 0) and s.score == pytest.approx(0) for s in fresh)
    for _ in range(3):
        clock.now += 1
        store.add_machine_vote("j", ids["second"][0], ids["first"][1], "a", 1, 0)  # second beats first
    clock.now += 1
    store.add_machine_vote("j", ids["first"][0], ids["third"][0], "draw", 0, 0)
    book = load_book(store, "machine")
    board = book.standings(store.entries())
    rows = {s.name: s for s in board}
    assert board[0].name == "second" and rows["second"].mu > 25 > rows["third"].mu > rows["first"].mu
    assert [rows[name].evaluations for name in ("first", "second", "third")] == [4, 3, 1]
    for row in board:
        assert row.score == pytest.approx(row.mu - K * row.sigma) and row.sigma < 8.334
    assert [s.score for s in board] == sorted((s.score for s in board), reverse=True)
    assert load_book(store, "human").votes == 0


def test_incremental_refresh_equals_a_full_replay(store: ArenaStore, clock: Clock) -> None:
    ids = chunks_of(store)
    book = RatingBook("machine")
    pattern = [("first", "second", "a"), ("second", "third", "b"), ("third", "first", "draw"), ("first", "third", "a")]
    for round_ in range(5):
        for left, right, answer in pattern:
            clock.now += 1
            store.add_machine_vote("j", ids[left][round_ % 2], ids[right][0], answer, 0, 0)
        assert book.refresh(store) == len(pattern)
    assert book.refresh(store) == 0
    replay = load_book(store, "machine")
    assert book.votes == replay.votes == 20
    assert book.standings(store.entries()) == replay.standings(store.entries())


def test_pairs_come_from_two_entries_the_least_known_first(store: ArenaStore, clock: Clock) -> None:
    import random

    ids = chunks_of(store)
    by_entry = store.chunk_ids_by_entry()
    entry_of = {chunk: entry for entry, chunks in by_entry.items() for chunk in chunks}
    for _ in range(4):
        clock.now += 1
        store.add_machine_vote("j", ids["first"][0], ids["second"][0], "a", 1, 0)
    book = load_book(store, "machine")
    rng = random.Random(0)
    pairs = [choose_pair(book, by_entry, rng) for _ in range(40)]
    assert all(entry_of[a] != entry_of[b] for a, b in pairs)
    third = entry_of[ids["third"][0]]
    assert all(third in (entry_of[a], entry_of[b]) for a, b in pairs)  # the unplayed entry, sigma still 8.334
    assert {a for a, _ in pairs} | {b for _, b in pairs} > {ids["third"][0], ids["third"][1]}  # random chunks, sides
    with pytest.raises(ArenaError, match="at least two entries"):
        choose_pair(book, {third: by_entry[third]}, rng)
