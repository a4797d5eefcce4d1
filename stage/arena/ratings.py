"""TrueSkill ratings of entries from pairwise votes, as the challenge summed up its listeners' votes.

Every entry starts at mu 25, sigma 8.334; each vote is one 1-vs-1 game (a draw when the voter said
so), applied in the order the votes were cast. The leaderboard's score is mu - k sigma with
k = 25 / 8.334 (so every new entry scores 0), and mu breaks ties.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import trueskill

from encore.stage.arena.store import ArenaStore, EntryRow, Vote

MU = 25.0
SIGMA = 8.334
K = MU / SIGMA
DRAW_PROBABILITY = 0.10


def environment() -> trueskill.TrueSkill:
    """The rating environment: mu 25, sigma 8.334, TrueSkill's usual beta (sigma / 2) and tau (sigma / 100)."""
    return trueskill.TrueSkill(mu=MU, sigma=SIGMA, beta=SIGMA / 2, tau=SIGMA / 100, draw_probability=DRAW_PROBABILITY)


def leaderboard_score(rating: trueskill.Rating) -> float:
    """mu - k sigma."""
    return rating.mu - K * rating.sigma


@dataclass(frozen=True)
class Standing:
    """One row of the leaderboard."""

    name: str
    mu: float
    sigma: float
    score: float
    evaluations: int


class RatingBook:
    """Entries' ratings from votes applied in order; `refresh` reads only the votes it has not seen.

    Args:
        voters: `human`, `machine` or `all`: which votes `refresh` reads.
        judge: Only this machine judge's votes.
    """

    def __init__(self, voters: str = "all", judge: str | None = None) -> None:
        self.voters = voters
        self.judge = judge
        self.env = environment()
        self.ratings: dict[int, trueskill.Rating] = {}
        self.evaluations: Counter[int] = Counter()
        self.seen: dict[str, int] = {}
        self.votes = 0

    def rating(self, entry_id: int) -> trueskill.Rating:
        """The entry's rating (the prior if it has no vote yet)."""
        return self.ratings.get(entry_id) or self.env.create_rating()

    def apply(self, vote: Vote) -> None:
        """One game: the chosen chunk's entry beats the other's, or they draw."""
        self.seen[vote.kind] = max(self.seen.get(vote.kind, 0), vote.id)
        if vote.entry_a == vote.entry_b:
            return
        a, b = self.rating(vote.entry_a), self.rating(vote.entry_b)
        if vote.answer == "b":
            b, a = trueskill.rate_1vs1(b, a, env=self.env)
        else:
            a, b = trueskill.rate_1vs1(a, b, drawn=vote.answer == "draw", env=self.env)
        self.ratings[vote.entry_a], self.ratings[vote.entry_b] = a, b
        self.evaluations.update((vote.entry_a, vote.entry_b))
        self.votes += 1

    def apply_all(self, votes: Iterable[Vote]) -> None:
        """Votes in order."""
        for vote in votes:
            self.apply(vote)

    def refresh(self, store: ArenaStore) -> int:
        """Apply the votes cast since the last refresh; return how many."""
        new = store.votes(self.voters, self.judge, after=self.seen)
        self.apply_all(new)
        return len(new)

    def quality(self, first: int, second: int) -> float:
        """TrueSkill's match quality (draw probability) of two entries: high for an informative pair."""
        return trueskill.quality_1vs1(self.rating(first), self.rating(second), env=self.env)

    def standings(self, entries: Iterable[EntryRow]) -> list[Standing]:
        """The leaderboard: by score, then mu, then name."""
        rows = []
        for entry in entries:
            rating = self.rating(entry.id)
            rows.append(Standing(entry.name, rating.mu, rating.sigma, leaderboard_score(rating),
                                 self.evaluations[entry.id]))
        return sorted(rows, key=lambda row: (-row.score, -row.mu, row.name))


def load_book(store: ArenaStore, voters: str = "all", judge: str | None = None) -> RatingBook:
    """A rating book with every vote of the arena (of the given voters) applied."""
    book = RatingBook(voters, judge)
    book.refresh(store)
    return book
