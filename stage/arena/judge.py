"""Machine judges: a GRPO reward (`encore.training.grpo.rewards`) votes on the pairs the arena offers,
and is checked against human votes on the same pairs.

A judge scores each chunk once (cached): the symbolic rewards read the chunk's notes (its MIDI file),
the audio rewards its notes rendered at the renderer's 16 kHz (as in GRPO) over the chunk's whole
length. The higher score wins; scores within `draw_margin` are a draw. Machine votes are stored apart
from human ones under the judge's name (the reward's, unless given another: two critics are two judges),
and a judge picks its pairs from its own ratings. `pair_tally` counts a judge's wins entry against entry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import mido

from encore.stage.arena.matchmaking import choose_pair
from encore.stage.arena.ratings import RatingBook, load_book
from encore.stage.arena.store import ArenaStore, ChunkRow, Vote
from encore.training.challenge.report import notes_from_midi
from encore.training.grpo import timing
from encore.training.grpo.render import RenderConfig, Renderer
from encore.training.grpo.rewards import Reward, RewardBatch


def verdict(score_a: float, score_b: float, draw_margin: float = 0.0) -> str:
    """`a`, `b` or `draw` (scores within `draw_margin` of each other)."""
    if abs(score_a - score_b) <= draw_margin:
        return "draw"
    return "a" if score_a > score_b else "b"


def chunk_notes(chunk: ChunkRow) -> list[timing.TimedNote]:
    """A chunk's notes from its MIDI file, as the rewards read them."""
    return [timing.TimedNote(n.onset_s, n.pitch, n.velocity, n.end_s - n.onset_s)
            for n in notes_from_midi(mido.MidiFile(chunk.midi))]


class ChunkScorer:
    """A reward's score for chunks, each computed once; use as a context manager (it may hold synths)."""

    def __init__(self, store: ArenaStore, reward: Reward) -> None:
        self.store = store
        self.reward = reward
        self.cache: dict[int, float] = {}
        self.renderers: dict[float, Renderer] = {}

    def __enter__(self) -> ChunkScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the synths."""
        for renderer in self.renderers.values():
            renderer.close()
        self.renderers.clear()

    def scores(self, chunk_ids: Iterable[int]) -> dict[int, float]:
        """Scores of the given chunks."""
        wanted = list(dict.fromkeys(chunk_ids))
        missing = [chunk for chunk in wanted if chunk not in self.cache]
        by_length: dict[float, list[ChunkRow]] = {}
        for chunk in self.store.chunks(missing) if missing else []:
            by_length.setdefault(round(chunk.length_s, 6), []).append(chunk)
        for length, group in by_length.items():
            notes = [chunk_notes(chunk) for chunk in group]
            audio = None
            if self.reward.needs_audio:
                if length not in self.renderers:
                    self.renderers[length] = Renderer(RenderConfig(crop_s=length, workers=0))
                audio = self.renderers[length].render(notes)
            values = self.reward.score(RewardBatch(notes, audio, crop_s=length)).tolist()
            self.cache.update((chunk.id, float(value)) for chunk, value in zip(group, values, strict=True))
        return {chunk: self.cache[chunk] for chunk in wanted}


def judge_votes(store: ArenaStore, scorer: ChunkScorer, votes: int, rng: random.Random, draw_margin: float = 0.0,
                progress: Callable[[Vote], None] | None = None, judge: str | None = None) -> RatingBook:
    """Let the reward cast `votes` votes on informative pairs, stored under `judge` (default: the reward's
    name); return that judge's ratings afterwards."""
    judge = judge or scorer.reward.name
    book = load_book(store, "machine", judge)
    chunks_by_entry = store.chunk_ids_by_entry()
    for _ in range(votes):
        chunk_a, chunk_b = choose_pair(book, chunks_by_entry, rng)
        scores = scorer.scores((chunk_a, chunk_b))
        vote = store.add_machine_vote(judge, chunk_a, chunk_b, verdict(scores[chunk_a], scores[chunk_b], draw_margin),
                                      scores[chunk_a], scores[chunk_b])
        book.apply(vote)
        if progress is not None:
            progress(vote)
    return book


@dataclass(frozen=True)
class PairTally:
    """One judge's votes between two entries: wins of each and draws."""

    entry_a: str
    entry_b: str
    wins_a: int
    wins_b: int
    draws: int

    def line(self) -> str:
        return f"{self.entry_a} vs {self.entry_b}: {self.wins_a} - {self.wins_b} ({self.draws} draws)"


def pair_tally(store: ArenaStore, judge: str) -> list[PairTally]:
    """A machine judge's votes counted per pair of entries (in the order entries were added: by id)."""
    names = {entry.id: entry.name for entry in store.entries()}
    counts: dict[tuple[int, int], list[int]] = {}
    for vote in store.votes("machine", judge):
        first, second = sorted((vote.entry_a, vote.entry_b))
        row = counts.setdefault((first, second), [0, 0, 0])
        if vote.answer == "draw":
            row[2] += 1
        else:
            winner = vote.entry_a if vote.answer == "a" else vote.entry_b
            row[0 if winner == first else 1] += 1
    return [PairTally(names[first], names[second], *row) for (first, second), row in sorted(counts.items())]


@dataclass(frozen=True)
class Agreement:
    """How a machine judge answers the pairs humans voted on.

    Attributes:
        judge: The reward's name.
        votes: Human votes compared.
        decisive: Of them, votes for A or B.
        agreed: Decisive votes where the judge picked the same chunk.
        machine_draws: Decisive votes where the judge called a draw.
        human_draws: Human draws.
        both_draw: Human draws the judge also called a draw.
    """

    judge: str
    votes: int
    decisive: int
    agreed: int
    machine_draws: int
    human_draws: int
    both_draw: int

    @property
    def rate(self) -> float | None:
        """Agreed / decisive, or None without decisive human votes."""
        return self.agreed / self.decisive if self.decisive else None

    def line(self) -> str:
        """One line for the terminal."""
        if not self.votes:
            return f"{self.judge}: no human votes to compare with yet"
        rate = "n/a" if self.rate is None else f"{100 * self.rate:.1f}%"
        return (f"{self.judge} agrees with {self.agreed} of {self.decisive} human votes for A or B ({rate}); "
                f"it called {self.machine_draws} of them a draw; humans drew {self.human_draws} times, "
                f"the judge drew {self.both_draw} of those")


def agreement(store: ArenaStore, scorer: ChunkScorer, draw_margin: float = 0.0) -> Agreement:
    """Compare the judge's verdicts with every human vote, pair by pair."""
    human = store.votes("human")
    scores = scorer.scores(chunk for vote in human for chunk in (vote.chunk_a, vote.chunk_b))
    decisive = [vote for vote in human if vote.answer != "draw"]
    draws = [vote for vote in human if vote.answer == "draw"]
    said = {vote.id: verdict(scores[vote.chunk_a], scores[vote.chunk_b], draw_margin) for vote in human}
    return Agreement(scorer.reward.name, len(human), len(decisive),
                     sum(said[vote.id] == vote.answer for vote in decisive),
                     sum(said[vote.id] == "draw" for vote in decisive), len(draws),
                     sum(said[vote.id] == "draw" for vote in draws))
