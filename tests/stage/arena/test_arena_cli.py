"""`encore arena add`, `leaderboard`, `judge`, `agreement` and `export` through the command line: refusals in
one line, chunk files that hold the music, human and machine votes shown apart or together, the agreement
of a reward with listeners of known taste, and the preference data set."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from arena_helpers import in_key_notes, write_entry_file

from encore.engine.synth import SynthError
from encore.stage.arena.adding import add_entry
from encore.stage.arena.audio import AudioConfig
from encore.stage.arena.matchmaking import choose_pair
from encore.stage.arena.ratings import load_book
from encore.stage.arena.store import ArenaStore
from encore.stage.cli import main
from encore.training.challenge.timeline import TimedNote

FAST = ["--sample-rate", "16000", "--workers", "0"]


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_add_refuses_what_it_cannot_use_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "arena.sqlite")
    (tmp_path / "text.mid").write_text("hello")
    (tmp_path / "empty.mid").write_bytes(b"")
    short = write_entry_file(tmp_path / "short.mid", in_key_notes(75.0, seed=4))
    assert main(["arena", "add", "x", str(tmp_path / "text.mid"), "--db", db]) == 2
    assert "not a readable MIDI file" in error_line(capsys)
    assert main(["arena", "add", "x", str(tmp_path / "empty.mid"), "--db", db]) == 2
    assert "the file is empty" in error_line(capsys)
    assert main(["arena", "add", "x", str(short), "--db", db]) == 2
    assert "far from an hour" in error_line(capsys)
    assert main(["arena", "add", "bad name", str(short), "--db", db, "--allow-short"]) == 2
    assert "entry name" in error_line(capsys)
    assert ArenaStore(Path(db)).entries() == []
    assert main(["arena", "add", "melody", str(short), "--db", db, "--allow-short", *FAST]) == 0
    assert re.search(r"^added melody: 2 chunks of 37\.\d s \(a full hour has 120\)", capsys.readouterr().out)
    assert main(["arena", "add", "melody", str(short), "--db", db, "--allow-short", *FAST]) == 2
    assert "already has an entry named 'melody'" in error_line(capsys)
    assert main(["arena", "leaderboard", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no arena database" in error_line(capsys)


@pytest.mark.parametrize("codec, rate", [("vorbis", 16000), ("opus", 48000)])
def test_chunk_files_hold_the_music_and_a_held_chord_rings_into_the_next_chunk(
        tmp_path: Path, soundfont: Path, codec: str, rate: int) -> None:
    notes = [TimedNote(1.0 + i, 1.5 + i, 60 + i % 5, 80) for i in range(20)]  # 1-21 s
    notes += [TimedNote(29.0, 32.0, p, 100) for p in (48, 55, 64)]  # a chord across the boundary at 30 s
    notes += [TimedNote(50.0, 59.0, 72, 80)]
    path = write_entry_file(tmp_path / "entry.mid", notes)
    store = ArenaStore(tmp_path / "arena.sqlite", create=True)
    added = add_entry(store, "held", path, allow_short=True, audio=AudioConfig(codec=codec, sample_rate=rate, workers=0))
    assert (added.chunks, added.chunk_s) == (2, pytest.approx(29.5))
    chunks = store.chunks()
    assert [c.index for c in chunks] == [0, 1] and [c.notes for c in chunks] == [23, 4]
    for chunk in chunks:
        assert chunk.midi.is_file() and chunk.audio.is_file() and chunk.audio.suffix == ".ogg"
        info = soundfile.info(str(chunk.audio))
        assert (info.format, info.subtype, info.samplerate) == ("OGG", codec.upper(), rate)
    audio, got_rate = soundfile.read(str(chunks[1].audio))
    assert len(audio) / got_rate == pytest.approx(29.5, abs=0.05)
    rms = lambda piece: float(np.sqrt(np.mean(np.square(piece))))  # noqa: E731
    # chunk 1 starts at 29.5 s: the chord struck at 29.0 s (in the pre-roll) is heard from its first moment
    assert rms(audio[: rate // 4]) > 0.01
    assert rms(audio[12 * rate: 18 * rate]) < rms(audio[: rate // 4]) / 20  # silence between 34 and 49 s
    assert not any(p.name.endswith(".partial") for p in store.chunk_root.iterdir())


def test_a_failed_render_leaves_no_entry_and_no_files(tmp_path: Path) -> None:
    path = write_entry_file(tmp_path / "entry.mid", in_key_notes(40.0, seed=1))
    store = ArenaStore(tmp_path / "arena.sqlite", create=True)
    with pytest.raises(SynthError, match="SoundFont"):
        add_entry(store, "lost", path, allow_short=True, audio=AudioConfig(soundfont=tmp_path / "none.sf2", workers=0))
    assert store.entries() == [] and list(store.chunk_root.iterdir()) == []


def human_votes(store: ArenaStore, favourite: str, count: int) -> None:
    """A listener who always prefers the chunk of `favourite`, through the store's offers."""
    rng = random.Random(1)
    for _ in range(count):
        chunk_a, chunk_b = choose_pair(load_book(store, "human"), store.chunk_ids_by_entry(), rng)
        offer = store.add_offer("f" * 32, chunk_a, chunk_b)
        answer = "a" if store.chunk(chunk_a).entry == favourite else "b"
        store.add_human_vote(offer.id, "f" * 32, answer, 5.0, 5.0, min_play_s=0.0)


def test_human_and_machine_votes_leaderboards_and_agreement(small_arena: ArenaStore,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = str(small_arena.path)
    assert main(["arena", "agreement", "--reward", "scale", "--db", db]) == 0
    assert "no human votes to compare with yet" in capsys.readouterr().out
    human_votes(small_arena, "random", 6)  # a listener who likes random notes
    assert main(["arena", "judge", "--reward", "scale", "--votes", "20", "--seed", "1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "20 votes by scale" in out
    assert "scale agrees with 0 of 6 human votes for A or B (0.0%)" in out  # scale prefers the melody in C
    assert main(["arena", "leaderboard", "--voters", "human", "--db", db]) == 0
    human_board = capsys.readouterr().out.splitlines()
    assert human_board[0].startswith("6 votes (human)") and "random" in human_board[2]
    assert main(["arena", "leaderboard", "--voters", "machine", "--judge", "scale", "--db", db]) == 0
    machine_board = capsys.readouterr().out.splitlines()
    assert machine_board[0].startswith("20 votes (machine, judge scale)") and "in-key" in machine_board[2]
    assert main(["arena", "leaderboard", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("26 votes (all)")
    human_votes(small_arena, "in-key", 4)
    assert main(["arena", "agreement", "--reward", "scale", "--db", db]) == 0
    assert "scale agrees with 4 of 10 human votes for A or B (40.0%)" in capsys.readouterr().out
    assert main(["arena", "judge", "--reward", "nonsense", "--votes", "1", "--db", db]) == 2
    assert "unknown reward 'nonsense'" in error_line(capsys)


def test_export_writes_a_pairwise_preference_data_set(small_arena: ArenaStore, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = str(small_arena.path)
    human_votes(small_arena, "in-key", 3)
    assert main(["arena", "judge", "--reward", "density", "--votes", "5", "--db", db]) == 0
    out = tmp_path / "pairs.jsonl"
    assert main(["arena", "export", "--out", str(out), "--db", db]) == 0
    assert f"wrote {out}: 8 pairs (all votes)" in capsys.readouterr().out
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["human"] * 3 + ["machine"] * 5
    for record in records:
        assert record["winner"] in ("a", "b", "draw") and record["a"]["entry"] != record["b"]["entry"]
        for side in ("a", "b"):
            assert Path(record[side]["midi"]).is_file() and Path(record[side]["audio"]).is_file()
            assert 29.5 < record[side]["length_s"] <= 30.0 and record[side]["chunk"] in (0, 1)
    human = records[0]
    assert human["voter"] == "f" * 32 and "scores" not in human
    assert human[human["winner"]]["entry"] == "in-key"
    assert records[-1]["voter"] == "density" and set(records[-1]["scores"]) == {"a", "b"}
    assert main(["arena", "export", "--out", str(out), "--voters", "human", "--db", db]) == 0
    assert len(out.read_text().splitlines()) == 3


def test_an_audio_judge_renders_the_chunks_and_a_draw_margin_makes_draws(small_arena: ArenaStore, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from encore.training.grpo.critic import AudioCritic, save_critic

    critic = save_critic(tmp_path / "critic", AudioCritic(), "an untrained critic, for the plumbing")
    db = str(small_arena.path)
    assert main(["arena", "judge", "--reward", "critic", "--critic", str(critic), "--votes", "4", "--db", db]) == 0
    votes = small_arena.votes("machine", judge="critic")
    assert len(votes) == 4 and all(0 < v.score_a < 1 and 0 < v.score_b < 1 for v in votes)
    assert len({v.score_a for v in votes} | {v.score_b for v in votes}) > 1  # the chunks sound different
    assert main(["arena", "judge", "--reward", "scale", "--votes", "6", "--draw-margin", "1", "--db", db]) == 0
    assert {v.answer for v in small_arena.votes("machine", judge="scale")} == {"draw"}
    capsys.readouterr()


def test_a_judge_named_with_as_keeps_its_votes_apart_and_its_pairs_are_tallied(
        small_arena: ArenaStore, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(small_arena.path)
    assert main(["arena", "judge", "--reward", "scale", "--votes", "12", "--seed", "1", "--db", db]) == 0
    capsys.readouterr()
    assert main(["arena", "judge", "--reward", "scale", "--as", "scale-again", "--votes", "8", "--seed", "2",
                 "--db", db]) == 0
    out = capsys.readouterr().out
    assert "8 votes by scale-again (8 in all by this judge)" in out
    assert len(small_arena.votes("machine", "scale")) == 12 and len(small_arena.votes("machine", "scale-again")) == 8
    names = {entry.id: entry.name for entry in small_arena.entries()}
    expected: dict[frozenset, dict[str, int]] = {}
    for vote in small_arena.votes("machine", "scale-again"):
        row = expected.setdefault(frozenset((names[vote.entry_a], names[vote.entry_b])), {"draw": 0})
        winner = "draw" if vote.answer == "draw" else names[vote.entry_a if vote.answer == "a" else vote.entry_b]
        row[winner] = row.get(winner, 0) + 1
    tally = [line for line in out.splitlines() if " vs " in line]
    assert len(tally) == len(expected)
    for line in tally:  # "a vs b: 3 - 1 (0 draws)"
        pair, _, counts = line.partition(": ")
        first, second = pair.split(" vs ")
        wins_first, _, rest = counts.partition(" - ")
        wins_second, draws = rest.split(" (")
        row = expected[frozenset((first, second))]
        assert (int(wins_first), int(wins_second), int(draws.split()[0])) == (
            row.get(first, 0), row.get(second, 0), row["draw"])
