"""`encore data piano` on real files: merging, filtering, splitting by piece, caching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encore.models.midi_io import is_piano_track, merge_tracks, read_score
from encore.training.piano.prep import PrepConfig, bar_statistics, run_prep
from encore.training.piano.sources import list_corpus, pop909_time_signature, split_of, work_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_split_is_by_piece_and_versions_follow_their_song(mini_data_root: Path) -> None:
    files = list_corpus(mini_data_root, ("pop909", "piano_midi_de"))
    by_piece: dict[str, set[str]] = {}
    for file in files:
        by_piece.setdefault(file.piece, set()).add(file.split)
    assert all(len(splits) == 1 for splits in by_piece.values())
    assert {f.piece for f in files if "002" in f.path.name} == {"002"}


def test_split_buckets_match_the_documented_rule() -> None:
    assert [split_of(key) for key in ("001", "003", "007")] == ["train", "test", "validation"]
    assert work_key("Chopin", "Prelude Op.28 No.7") == work_key("chopin", "Prelude_Op_28_No_7")


@pytest.mark.parametrize("index,expected", [((2, 2), (2, 4)), ((4, 2), (4, 4)), ((2, 3), (6, 8)), ((3, 3), (9, 8))])
def test_pop909_index_time_signatures(index: tuple[int, int], expected: tuple[int, int]) -> None:
    assert pop909_time_signature(*index) == expected


def test_merge_drops_duplicated_notes() -> None:
    score = read_score(FIXTURES / "pop909" / "001.mid")
    merged = merge_tracks(score, is_piano_track)
    pairs = {(n.time, n.pitch) for n in merged.tracks[0].notes}
    assert len(pairs) == len(merged.tracks[0].notes)
    assert len(merged.tracks[0].notes) < sum(len(t.notes) for t in score.tracks)


def test_bar_statistics() -> None:
    bar, pitches = 3, np.array([10, 11])
    ids = np.array([bar, 5, 10, 7, 10, bar, 5, bar, 11, bar])
    assert bar_statistics(ids, bar, pitches) == (2, 0.5)


def test_prep_counts_and_reuses_cache(mini_data_root: Path, tmp_path: Path) -> None:
    config = PrepConfig(data_root=mini_data_root, cache_root=tmp_path, workers=1)
    first = run_prep(config, progress=False)
    assert not first["reused_cache"]
    kept = sum(split["files"] for split in first["splits"].values())
    assert kept + sum(first["dropped"].values()) == 6
    tokens = np.load(config.cache_dir / "train_tokens.npy")
    offsets = np.load(config.cache_dir / "train_offsets.npy")
    assert offsets[-1] == len(tokens) == first["splits"]["train"]["tokens"]
    assert (config.cache_dir / "tokenizer.json").is_file()
    second = run_prep(config, progress=False)
    assert second["reused_cache"] and second["splits"] == json.loads(json.dumps(first["splits"]))


def test_strict_filter_drops_and_says_why(mini_data_root: Path, tmp_path: Path) -> None:
    config = PrepConfig(data_root=mini_data_root, cache_root=tmp_path, workers=1, max_notes_per_bar=5)
    manifest = run_prep(config, progress=False)
    assert manifest["dropped"].get("more than 5 notes in a bar", 0) >= 5


def test_asap_is_opt_in_keyed_with_piano_midi_de_and_named_non_commercial(mini_data_root: Path, tmp_path: Path) -> None:
    """ASAP performances of one piece share its split with the same work in piano-midi.de."""
    import argparse
    import shutil

    from encore.stage.cli.data import corpus_sources

    root = tmp_path / "data"
    shutil.copytree(mini_data_root, root)
    piece = root / "asap" / "Chopin" / "Preludes" / "7"
    piece.mkdir(parents=True)
    for name in ("PerformerA01.mid", "PerformerB02.mid"):
        shutil.copy(FIXTURES / "piano_midi_de" / "chpn-p7.mid", piece / name)
    rows = ["composer,title,folder,xml_score,midi_score,midi_performance"]
    rows += [f"Chopin,Prelude_7,Chopin/Preludes/7,,,Chopin/Preludes/7/{name}" for name in ("PerformerA01.mid", "PerformerB02.mid")]
    (root / "asap" / "metadata.csv").write_text("\n".join(rows) + "\n")

    assert "asap" not in corpus_sources(argparse.Namespace(with_asap=False))
    sources = corpus_sources(argparse.Namespace(with_asap=True))
    files = list_corpus(root, sources)
    asap = [f for f in files if f.source == "asap"]
    same_work = [f for f in files if f.source == "piano_midi_de" and f.path.name == "chpn-p7.mid"]
    assert len(asap) == 2 and {f.piece for f in asap} == {same_work[0].piece}
    assert {f.split for f in asap} == {same_work[0].split}
    config = PrepConfig(data_root=root, sources=sources, cache_root=tmp_path / "cache", workers=1)
    assert "asap" in config.cache_dir.name


def test_asap_runs_and_checkpoints_say_non_commercial() -> None:
    from encore.stage.cli.train_piano import licensed_name

    assert licensed_name(Path("models/checkpoints/piano-default"), False) == Path("models/checkpoints/piano-default")
    named = licensed_name(Path("models/checkpoints/piano-default"), True)
    assert named == Path("models/checkpoints/piano-default-asap-noncommercial")
    assert licensed_name(named, True) == named
