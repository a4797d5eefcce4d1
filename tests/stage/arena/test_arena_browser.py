"""The listening page in a real browser: headless Chromium opens it, plays both chunks, votes; the vote
lands in the database and the ratings move. The vote buttons stay disabled until both chunks played."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from arena_helpers import serving

from encore.stage.arena.ratings import load_book
from encore.stage.arena.store import ArenaStore
from encore.stage.arena.web import ServeConfig, build_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MIN_PLAY_S = 1.5
WAIT_S = 60.0


@pytest.fixture
def browser() -> Iterator:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=412,915"):  # a phone's viewport
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def until(condition, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_listener_plays_both_chunks_votes_and_the_ratings_move(small_arena: ArenaStore, browser) -> None:
    app = build_app(small_arena, ServeConfig(min_play_s=MIN_PLAY_S, seed=3))
    with serving(app) as url:
        browser.get(url + "/")
        find = lambda element_id: browser.find_element("id", element_id)  # noqa: E731
        until(lambda: find("play-a").is_enabled(), "the pair to load")
        with small_arena.connect() as db:
            assert db.execute("SELECT COUNT(*) FROM offers").fetchone() == (1,)
        assert not find("vote-a").is_enabled() and not find("vote-b").is_enabled()
        find("play-a").click()
        until(lambda: "heard" in find("status-a").text, "chunk A to play")
        until(lambda: find("status-a").text.startswith("heard") and " of " not in find("status-a").text,
              "chunk A to play long enough")
        assert not find("vote-a").is_enabled(), "B has not been played yet"
        find("play-b").click()
        until(lambda: find("vote-a").is_enabled(), "the vote buttons after both chunks played")
        assert browser.execute_script("return document.getElementById('audio-a').paused")  # B paused A
        find("vote-b").click()
        until(lambda: find("thanks").is_displayed(), "the thank-you")
        rows = until(lambda: browser.find_elements("css selector", "#board-rows tr"), "the leaderboard")
        assert len(rows) == 2 and find("vote-count").text == "1"
        votes = small_arena.votes("human")
        assert len(votes) == 1 and votes[0].answer == "b"
        winner = small_arena.chunk(votes[0].chunk_b).entry
        assert rows[0].find_elements("tag name", "td")[1].text == winner
        with small_arena.connect() as db:
            played = db.execute("SELECT played_a_s, played_b_s FROM human_votes").fetchone()
        assert min(played) >= MIN_PLAY_S
        standings = {s.name: s for s in load_book(small_arena, "human").standings(small_arena.entries())}
        assert standings[winner].mu > 25 and all(s.sigma < 8.334 and s.evaluations == 1 for s in standings.values())
        # the next pair starts over: buttons disabled until both are played again
        find("next").click()
        until(lambda: find("play-a").is_enabled() and not find("thanks").is_displayed(), "the next pair")
        assert not find("vote-a").is_enabled()
        assert find("message").text == ""

