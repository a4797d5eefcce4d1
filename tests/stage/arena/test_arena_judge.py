"""A small arena of three entries whose quality is known: the shipped checkpoint, the same at temperature
2.0, and random notes. After a few hundred machine votes by a symbolic reward the leaderboard orders
them as expected. Entries are 90 s (three chunks), made as `--challenge` makes entries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from arena_helpers import random_notes, write_entry_file

from encore.models.piano.checkpoint import load_piano
from encore.models.sampling_config import SamplingConfig
from encore.stage.arena.store import ArenaStore
from encore.stage.cli import main
from encore.training.challenge.entry import EntryConfig, make_entry, write_entry

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "pop909" / "001.mid"
SECONDS = 90.0
VOTES = 300


@pytest.fixture(scope="module")
def three_entries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("three")
    bundle = load_piano(None, int8=True)
    config = EntryConfig(seconds=SECONDS, batch_size=3)
    files = {}
    for name, temperature in (("shipped", 1.0), ("hot", 2.0)):
        entry = make_entry(bundle, SEED, config, SamplingConfig(temperature=temperature), random_seed=5)
        write_entry(folder / f"{name}.mid", entry)
        files[name] = folder / f"{name}.mid"
    files["random"] = write_entry_file(folder / "random.mid", random_notes(SECONDS, seed=11))
    return files


def test_machine_votes_order_the_three_entries_as_expected(three_entries: dict[str, Path], tmp_path: Path,
                                                           soundfont: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "arena.sqlite")
    for name, path in three_entries.items():
        assert main(["arena", "add", name, str(path), "--db", db, "--allow-short", "--sample-rate", "16000",
                     "--workers", "0"]) == 0
        assert f"added {name}: 3 chunks of 30.0 s (a full hour has 120)" in capsys.readouterr().out
    assert main(["arena", "judge", "--reward", "scale", "--votes", str(VOTES), "--seed", "0", "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"{VOTES} votes by scale" in out
    board = tmp_path / "board.csv"
    assert main(["arena", "leaderboard", "--voters", "machine", "--csv", str(board), "--png",
                 str(tmp_path / "board.png"), "--db", db]) == 0
    rows = list(csv.DictReader(board.open()))
    assert [row["name"] for row in rows] == ["shipped", "hot", "random"]
    assert sum(int(row["evaluations"]) for row in rows) == 2 * VOTES
    assert all(float(row["sigma"]) < 8.334 for row in rows)
    assert (tmp_path / "board.png").stat().st_size > 10_000
    # the reward truly separates them: the judge's mean score per entry, over the chunks it heard
    store = ArenaStore(Path(db))
    names = {entry.id: entry.name for entry in store.entries()}
    scores: dict[str, list[float]] = {name: [] for name in names.values()}
    for vote in store.votes("machine"):
        scores[names[vote.entry_a]].append(vote.score_a)
        scores[names[vote.entry_b]].append(vote.score_b)
    mean = {name: sum(values) / len(values) for name, values in scores.items()}
    assert mean["shipped"] > mean["hot"] > mean["random"]
    assert store.votes("human") == []
