"""The listening page's server (Starlette): a pair to play, its audio, votes, the running leaderboard.

Routes:
    GET  /                      the page (static/index.html with its script and style; no build step)
    GET  /api/pair              a new pair for this listener: {offer, a, b, min_play_s, show_leaderboard}
    GET  /audio/{offer}/{a|b}   the chunk's audio (the URL names neither entry: listening is blind)
    POST /api/vote              {offer, answer: a|b|draw, played_a_s, played_b_s} -> {ok, votes, leaderboard?}
    GET  /api/leaderboard       the leaderboard of human votes (when shown)

A listener is an anonymous random id in a cookie, set with their first pair. Pairs come from
`matchmaking.choose_pair` over the human votes' ratings, read incrementally from the database before
each pair. Refused votes get a JSON `{"error": one line}` with 400 (bad input, or played too little),
403 (another listener's pair), 404 (a pair never offered) or 409 (answered already).
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from encore.stage.arena.matchmaking import choose_pair
from encore.stage.arena.ratings import RatingBook
from encore.stage.arena.store import ArenaError, ArenaStore, Offer, VoteRefused

STATIC = Path(__file__).with_name("static")
COOKIE = "arena_listener"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
LISTENER_PATTERN = re.compile(r"[0-9a-f]{32}")
REFUSAL_STATUS = {"invalid": 400, "early": 400, "forbidden": 403, "unknown": 404, "answered": 409}


@dataclass(frozen=True)
class ServeConfig:
    """How the page behaves.

    Attributes:
        min_play_s: Seconds each chunk must play before the vote buttons work (checked again on the server).
        show_leaderboard: Show the running leaderboard after each vote.
        seed: Random seed of the pair choice (None: fresh).
    """

    min_play_s: float = 5.0
    show_leaderboard: bool = True
    seed: int | None = None


class ArenaSite:
    """The handlers, sharing one store and the human votes' ratings."""

    def __init__(self, store: ArenaStore, config: ServeConfig) -> None:
        self.store = store
        self.config = config
        self.book = RatingBook("human")
        self.rng = random.Random(config.seed)
        self.lock = threading.Lock()

    def routes(self) -> list:
        """Starlette routes."""
        return [Route("/", self.index), Route("/api/pair", self.pair), Route("/api/vote", self.vote, methods=["POST"]),
                Route("/api/leaderboard", self.leaderboard), Route("/audio/{offer}/{side}", self.audio),
                Mount("/static", StaticFiles(directory=STATIC), name="static")]

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def pair(self, request: Request) -> Response:
        listener = request.cookies.get(COOKIE, "")
        fresh = not LISTENER_PATTERN.fullmatch(listener)
        if fresh:
            listener = uuid.uuid4().hex
        try:
            offer = await run_in_threadpool(self._offer, listener)
        except ArenaError as error:
            return JSONResponse({"error": str(error)}, status_code=503)
        response = JSONResponse({"offer": offer.id, "a": f"/audio/{offer.id}/a", "b": f"/audio/{offer.id}/b",
                                 "min_play_s": self.config.min_play_s,
                                 "show_leaderboard": self.config.show_leaderboard})
        if fresh:
            response.set_cookie(COOKIE, listener, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="lax")
        return response

    def _offer(self, listener: str) -> Offer:
        with self.lock:
            self.book.refresh(self.store)
            chunk_a, chunk_b = choose_pair(self.book, self.store.chunk_ids_by_entry(), self.rng)
        return self.store.add_offer(listener, chunk_a, chunk_b)

    async def vote(self, request: Request) -> Response:
        listener = request.cookies.get(COOKIE, "")
        if not LISTENER_PATTERN.fullmatch(listener):
            return JSONResponse({"error": "no listener id: allow cookies and load a pair first"}, status_code=403)
        try:
            body = json.loads(await request.body())
            offer, answer = str(body["offer"]), str(body["answer"])
            played_a, played_b = float(body["played_a_s"]), float(body["played_b_s"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "a vote is JSON with offer, answer (a, b or draw), played_a_s and "
                                          "played_b_s"}, status_code=400)
        try:
            await run_in_threadpool(self.store.add_human_vote, offer, listener, answer, played_a, played_b,
                                    self.config.min_play_s)
        except VoteRefused as refused:
            return JSONResponse({"error": str(refused)}, status_code=REFUSAL_STATUS[refused.kind])
        reply: dict = {"ok": True}
        if self.config.show_leaderboard:
            reply.update(await run_in_threadpool(self._leaderboard))
        return JSONResponse(reply)

    async def leaderboard(self, request: Request) -> Response:
        if not self.config.show_leaderboard:
            return JSONResponse({"error": "the leaderboard is hidden during this session"}, status_code=404)
        return JSONResponse(await run_in_threadpool(self._leaderboard))

    def _leaderboard(self) -> dict:
        with self.lock:
            self.book.refresh(self.store)
            standings = self.book.standings(self.store.entries())
            votes = self.book.votes
        return {"votes": votes, "leaderboard": [{"name": s.name, "mu": round(s.mu, 2), "sigma": round(s.sigma, 2),
                                                 "score": round(s.score, 2), "evaluations": s.evaluations}
                                                for s in standings]}

    async def audio(self, request: Request) -> Response:
        side = request.path_params["side"]
        offer = await run_in_threadpool(self.store.offer, request.path_params["offer"])
        if offer is None or side not in ("a", "b"):
            return JSONResponse({"error": "no such chunk was offered"}, status_code=404)
        chunk = await run_in_threadpool(self.store.chunk, offer.chunk_a if side == "a" else offer.chunk_b)
        return FileResponse(chunk.audio, media_type="audio/ogg", headers={"Cache-Control": "private, max-age=3600"})


def build_app(store: ArenaStore, config: ServeConfig | None = None) -> Starlette:
    """The ASGI app of the listening page."""
    return Starlette(routes=ArenaSite(store, config or ServeConfig()).routes())
