"""The listening page's server over real HTTP (uvicorn on a loopback port, httpx clients): blind pairs from
two entries, playable Ogg audio, votes that land, refusals with one line, two listeners voting at once."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import soundfile
from arena_helpers import serving

from encore.stage.arena.ratings import load_book
from encore.stage.arena.store import ArenaStore
from encore.stage.arena.web import COOKIE, ServeConfig, build_app


def test_the_page_and_its_assets_are_served(small_arena: ArenaStore) -> None:
    with serving(build_app(small_arena)) as url, httpx.Client(base_url=url) as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'name="viewport"' in page.text and 'id="vote-draw"' in page.text
        for asset in ("/static/arena.js", "/static/arena.css"):
            assert client.get(asset).status_code == 200


def test_a_pair_is_two_blind_chunks_of_two_entries_with_real_audio(small_arena: ArenaStore) -> None:
    with serving(build_app(small_arena, ServeConfig(min_play_s=0.0))) as url, httpx.Client(base_url=url) as client:
        reply = client.get("/api/pair")
        assert reply.status_code == 200, reply.text
        pair = reply.json()
        listener = client.cookies[COOKIE]
        assert len(listener) == 32
        offer = small_arena.offer(pair["offer"])
        assert offer is not None and offer.listener == listener and not offer.answered
        a, b = small_arena.chunk(offer.chunk_a), small_arena.chunk(offer.chunk_b)
        assert a.entry != b.entry
        for side, chunk in (("a", a), ("b", b)):
            assert pair[side] == f"/audio/{offer.id}/{side}" and chunk.entry not in pair[side]  # blind
            audio = client.get(pair[side])
            assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg"
            samples, rate = soundfile.read(io.BytesIO(audio.content))
            assert rate == 16000 and len(samples) / rate == pytest.approx(chunk.length_s, abs=0.05)
            assert (samples ** 2).mean() ** 0.5 > 1e-3  # music, not silence
        assert client.get(f"/audio/{offer.id}/c").status_code == 404
        assert client.get("/audio/not-an-offer/a").status_code == 404
        # the same listener keeps the id; a new pair is offered again
        client.get("/api/pair")
        assert client.cookies[COOKIE] == listener


def test_a_vote_lands_moves_the_ratings_and_shows_the_leaderboard(small_arena: ArenaStore) -> None:
    with serving(build_app(small_arena, ServeConfig(min_play_s=0.0))) as url, httpx.Client(base_url=url) as client:
        pair = client.get("/api/pair").json()
        reply = client.post("/api/vote", json={"offer": pair["offer"], "answer": "a", "played_a_s": 3.0,
                                               "played_b_s": 4.0})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["ok"] and body["votes"] == 1
        offer = small_arena.offer(pair["offer"])
        winner = small_arena.chunk(offer.chunk_a).entry
        assert body["leaderboard"][0]["name"] == winner and body["leaderboard"][0]["mu"] > 25
        votes = small_arena.votes("human")
        assert [(v.chunk_a, v.chunk_b, v.answer, v.voter) for v in votes] == [
            (offer.chunk_a, offer.chunk_b, "a", client.cookies[COOKIE])]
        assert client.get("/api/leaderboard").json()["votes"] == 1


@pytest.mark.parametrize("payload, status, message", [
    ({"offer": "never-offered", "answer": "a", "played_a_s": 9, "played_b_s": 9}, 404, "not offered"),
    ({"answer": "a", "played_a_s": 9, "played_b_s": 9}, 400, "a vote is JSON"),
    ({"offer": "OFFER", "answer": "maybe", "played_a_s": 9, "played_b_s": 9}, 400, "use a, b or draw"),
    ({"offer": "OFFER", "answer": "a", "played_a_s": 9, "played_b_s": 1}, 400, "at least 2 s"),
    ({"offer": "OFFER", "answer": "a", "played_a_s": "long", "played_b_s": 9}, 400, "a vote is JSON"),
    ({"offer": "OFFER", "answer": "a", "played_a_s": float("nan"), "played_b_s": 9}, 400, "finite numbers"),
])
def test_bad_votes_are_refused_with_one_line(small_arena: ArenaStore, payload: dict, status: int, message: str) -> None:
    with serving(build_app(small_arena, ServeConfig(min_play_s=2.0))) as url, httpx.Client(base_url=url) as client:
        offer = client.get("/api/pair").json()["offer"]
        payload = {key: offer if value == "OFFER" else value for key, value in payload.items()}
        reply = client.post("/api/vote", content=json.dumps(payload))  # json.dumps lets NaN through
        assert reply.status_code == status and message in reply.json()["error"]
        assert "\n" not in reply.json()["error"]
        assert client.post("/api/vote", content=b"{not json").status_code == 400
        assert small_arena.votes() == []


def test_a_pair_offered_to_another_listener_or_answered_is_refused(small_arena: ArenaStore) -> None:
    with serving(build_app(small_arena, ServeConfig(min_play_s=0.0))) as url, \
            httpx.Client(base_url=url) as alice, httpx.Client(base_url=url) as bob:
        offer = alice.get("/api/pair").json()["offer"]
        vote = {"offer": offer, "answer": "b", "played_a_s": 1, "played_b_s": 1}
        assert bob.post("/api/vote", json=vote).status_code == 403  # no cookie yet
        bob.get("/api/pair")
        refused = bob.post("/api/vote", json=vote)
        assert refused.status_code == 403 and "another listener" in refused.json()["error"]
        assert alice.post("/api/vote", json=vote).status_code == 200
        again = alice.post("/api/vote", json=vote)
        assert again.status_code == 409 and "answered already" in again.json()["error"]
        assert len(small_arena.votes("human")) == 1


def test_two_listeners_voting_at_once_lose_nothing(small_arena: ArenaStore) -> None:
    rounds = 12
    with serving(build_app(small_arena, ServeConfig(min_play_s=0.0))) as url:
        clients = [httpx.Client(base_url=url, timeout=60) for _ in range(2)]
        barrier = threading.Barrier(2)
        statuses: list[list[int]] = [[], []]

        def listen(index: int) -> None:
            client = clients[index]
            for _ in range(rounds):
                offer = client.get("/api/pair").json()["offer"]
                barrier.wait(timeout=60)  # both post their votes at the same moment
                reply = client.post("/api/vote", json={"offer": offer, "answer": "ab"[index], "played_a_s": 1,
                                                       "played_b_s": 1})
                statuses[index].append(reply.status_code)

        threads = [threading.Thread(target=listen, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        for client in clients:
            client.close()
    assert statuses == [[200] * rounds, [200] * rounds]
    votes = small_arena.votes("human")
    assert len(votes) == 2 * rounds and len({v.voter for v in votes}) == 2
    assert sorted(v.answer for v in votes) == ["a"] * rounds + ["b"] * rounds
    assert load_book(small_arena, "human").votes == 2 * rounds


def test_without_two_entries_the_page_says_so(tmp_path) -> None:
    store = ArenaStore(tmp_path / "empty.sqlite", create=True)
    with serving(build_app(store)) as url, httpx.Client(base_url=url) as client:
        reply = client.get("/api/pair")
        assert reply.status_code == 503 and "at least two entries" in reply.json()["error"]


def test_the_leaderboard_can_be_hidden(small_arena: ArenaStore) -> None:
    config = ServeConfig(min_play_s=0.0, show_leaderboard=False)
    with serving(build_app(small_arena, config)) as url, httpx.Client(base_url=url) as client:
        pair = client.get("/api/pair").json()
        assert pair["show_leaderboard"] is False
        reply = client.post("/api/vote", json={"offer": pair["offer"], "answer": "draw", "played_a_s": 1,
                                               "played_b_s": 1})
        assert reply.json() == {"ok": True}
        assert client.get("/api/leaderboard").status_code == 404


def test_encore_arena_serve_runs_the_page_until_interrupted(small_arena: ArenaStore) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    command = [sys.executable, "-m", "encore.stage.cli", "arena", "serve", "--db", str(small_arena.path),
               "--port", str(port), "--min-play", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "encore arena serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and "Which do you like more?" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/pair").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert f"arena {small_arena.path}: 2 entries; open http://127.0.0.1:{port}/" in output
    assert server.returncode in (0, 130)
