"""`encore grpo-compare`: tiny-model samples to an .npz and back, the report's files, errors, diversity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encore.models.errors import EncoreError
from encore.models.piano.checkpoint import PianoBundle, save_piano
from encore.stage.cli import main
from encore.training.grpo import features as ft
from encore.training.grpo.compare import FEATURES
from encore.training.grpo.samples import (
    GenerationConfig,
    generate_samples,
    load_samples,
    real_continuations,
    real_samples,
)
from encore.training.piano.prep import load_split

NEW_TOKENS = 60  # the tiny model's context is 128


def tiny_checkpoint(folder: Path, seed: int) -> Path:
    bundle = PianoBundle.random("tiny", seed=seed)
    return save_piano(folder, bundle.model, bundle.tokenizer, "# tiny\n")


def generate(model: Path, out: Path, count: int = 6, new_tokens: int = NEW_TOKENS) -> int:
    return main(["grpo-compare", "generate", "--model", str(model), "--count", str(count), "--batch", "4",
                 "--new-tokens", str(new_tokens), "--out", str(out), "--seed", "3", "--device", "cpu",
                 "--quiet"])


def test_generate_then_report_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {}
    for seed, label in enumerate(("base", "tuned", "over-optimised")):
        files[label] = tmp_path / f"{label}.npz"
        assert generate(tiny_checkpoint(tmp_path / label, seed), files[label]) == 0
    with np.load(files["base"]) as base, np.load(files["tuned"]) as tuned:
        assert base["tokens"].shape == (6, 5 + NEW_TOKENS) and int(base["prompt_length"]) == 5
        np.testing.assert_array_equal(base["tokens"][:, :5], tuned["tokens"][:, :5])  # one seed, same prompts
        assert not np.array_equal(base["tokens"][:, 5:], tuned["tokens"][:, 5:])
        assert json.loads(str(base["settings"]))["new_tokens"] == NEW_TOKENS
    out = tmp_path / "report"
    specs = [arg for label, path in files.items() for arg in ("--samples", f"{label}={path}")]
    code = main(["grpo-compare", "report", *specs, "--reference", "over-optimised", "--out-dir", str(out)])
    assert code == 0
    for name in ("features.png", "diversity.png"):
        assert (out / name).stat().st_size > 10_000
    report = json.loads((out / "compare.json").read_text())
    assert list(report["models"]) == ["base", "tuned", "over-optimised"] and report["base"] == "base"
    assert set(report["changes"]) == {"tuned", "over-optimised"}
    samples = load_samples("tuned", files["tuned"])
    tuned = report["models"]["tuned"]
    assert tuned["samples"] == 6
    assert tuned["features"]["notes"]["mean"] == pytest.approx(np.mean([p.notes for p in samples.pieces]))
    assert tuned["diversity"] == pytest.approx(ft.diversity(samples.rolls))
    assert tuned["chance_diversity"] == pytest.approx(ft.chance_diversity(samples.rolls))
    notes_change = report["changes"]["tuned"]["notes"]
    base_notes = report["models"]["base"]["features"]["notes"]["mean"]
    expected = np.mean([p.notes for p in samples.pieces]) - base_notes
    assert notes_change["delta"] == pytest.approx(expected) and notes_change["paper_direction"] == 1
    assert notes_change["paper_way"] is (None if expected == 0 else bool(expected > 0))
    for feature in FEATURES:
        fractions = tuned["features"][feature.table_of]["histogram"]["fractions"]
        assert sum(fractions) == pytest.approx(1.0, abs=1e-3)  # every value falls in a bin
    table = (out / "features.md").read_text()
    assert all(f"| {feature.label} |" in table for feature in FEATURES)
    assert "tuned − base (z)" in table and "over-optimised − base (z)" in table
    assert table in capsys.readouterr().out
    distances = report["distances"]
    assert set(distances) == {"base", "tuned"} and report["reference"] == "over-optimised"
    for feature in FEATURES:
        mine, theirs = (np.array(report["models"][label]["features"][feature.table_of]["histogram"]["fractions"])
                        for label in ("tuned", "over-optimised"))
        assert distances["tuned"][feature.table_of] == pytest.approx(0.5 * np.abs(mine - theirs).sum())
    assert distances["tuned"]["mean"] == pytest.approx(np.mean([distances["tuned"][f.table_of] for f in FEATURES]))
    assert "| feature | distance to over-optimised: base / tuned |" in table


def test_diversity_of_samples_beats_identical_copies(tmp_path: Path) -> None:
    path = generate_samples(PianoBundle.random("tiny"), tmp_path / "s.npz",
                            GenerationConfig(count=8, batch=8, new_tokens=NEW_TOKENS, seed=1), "tiny",
                            progress=False)
    rolls = load_samples("tiny", path).rolls
    assert rolls.any(axis=(1, 2)).all()  # every opening has notes: the copies below are not empty rolls
    copies = np.repeat(rolls[:1], len(rolls), axis=0)
    assert ft.diversity(copies) == 0.0
    assert ft.diversity(rolls) > 0.5


@pytest.mark.parametrize("samples, message", [
    (["base"], "expected LABEL=FILE.npz"),
    (["base=a.npz", "base=b.npz"], "each label once"),
    (["base=missing.npz"], "no such sample file"),
    (["base=junk.npz"], "not a grpo-compare sample file"),
])
def test_bad_report_arguments_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            samples: list[str], message: str) -> None:
    (tmp_path / "junk.npz").write_text("not numpy")
    args = [arg for spec in samples for arg in ("--samples", str(tmp_path / spec) if "=" not in spec else
                                                spec.replace("=", f"={tmp_path}/"))]
    assert main(["grpo-compare", "report", *args, "--out-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_reference_that_names_no_set_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate(tiny_checkpoint(tmp_path / "tiny", 0), tmp_path / "a.npz", count=2) == 0
    assert main(["grpo-compare", "report", "--samples", f"a={tmp_path / 'a.npz'}", "--reference", "real",
                 "--out-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "--reference real: no sample set has that label" in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_different_lengths_and_too_long_completions_are_refused(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny_checkpoint(tmp_path / "tiny", 0)
    assert generate(model, tmp_path / "long.npz", count=2) == 0
    assert generate(model, tmp_path / "short.npz", count=2, new_tokens=20) == 0
    assert main(["grpo-compare", "report", "--samples", f"a={tmp_path / 'long.npz'}",
                 "--samples", f"b={tmp_path / 'short.npz'}", "--out-dir", str(tmp_path / "out")]) == 2
    assert "differ in completion length" in capsys.readouterr().err
    assert generate(model, tmp_path / "too-long.npz", count=2, new_tokens=200) == 2
    assert "exceed the context" in capsys.readouterr().err
    assert not (tmp_path / "too-long.npz").exists()


def test_real_stretches_are_sample_files_cut_from_the_split(mini_cache: Path, tmp_path: Path) -> None:
    tokenizer = PianoBundle.random("tiny", seed=0).tokenizer
    out = real_samples(tokenizer, mini_cache, tmp_path / "real.npz", count=5, new_tokens=40, seed=0, split="train")
    tokens, offsets = load_split(mini_cache, "train")
    vocab = tokenizer.vocab
    names = {i: name for name, i in vocab.items()}
    with np.load(out) as data:
        rows, prompt_length = data["tokens"], int(data["prompt_length"])
    assert rows.shape == (5, 45) and prompt_length == 5 and len({tuple(row) for row in rows}) == 5
    for row in rows:
        assert [names[int(t)].split("_")[0] for t in row[:5]] == ["BOS", "Bar", "TimeSig", "Position", "Tempo"]
        starts = [s for s in np.flatnonzero(tokens == vocab["Bar_None"])
                  if tokens[s + 1] == row[2] and np.array_equal(tokens[s + 2:s + 42], row[5:])]
        assert starts, "each completion is the split's own tokens after a Bar and its TimeSig"
        file = np.searchsorted(offsets, starts[0], side="right") - 1
        assert starts[0] + 42 <= offsets[file + 1]  # inside one file
    assert load_samples("real", out).pieces  # the report reads it like a model's samples
    with pytest.raises(EncoreError, match="no prepared validation split"):
        real_samples(tokenizer, tmp_path, tmp_path / "none.npz")
    with pytest.raises(EncoreError, match="asked for 100000"):
        real_samples(tokenizer, mini_cache, tmp_path / "many.npz", count=100000, new_tokens=40, split="train")


def test_split_prompt_samples_and_their_real_continuations_share_rows(mini_cache: Path, tmp_path: Path) -> None:
    config = GenerationConfig(count=5, batch=2, new_tokens=24, seed=4, prompts="split", prompt_tokens=16,
                              split="train")
    files = [generate_samples(PianoBundle.random("tiny", seed=seed), tmp_path / f"m{seed}.npz", config, "tiny",
                              progress=False, cache_dir=mini_cache) for seed in (0, 1)]
    real = real_continuations(PianoBundle.random("tiny").tokenizer, mini_cache, tmp_path / "real.npz", config)
    tokens, _ = load_split(mini_cache, "train")
    with np.load(files[0]) as a, np.load(files[1]) as b, np.load(real) as r:
        assert a["tokens"].shape == r["tokens"].shape == (5, 16 + 24) and int(r["prompt_length"]) == 16
        np.testing.assert_array_equal(a["tokens"][:, :16], b["tokens"][:, :16])  # one seed, same prompts
        np.testing.assert_array_equal(a["tokens"][:, :16], r["tokens"][:, :16])  # and the real rows' prompts
        for row in r["tokens"]:
            passage = row[1:].tolist()  # the prompt after BOS, then what followed it
            assert any(tokens[s:s + len(passage)].tolist() == passage for s in np.flatnonzero(tokens == row[1]))
        assert json.loads(str(a["settings"]))["prompts"] == "split"
    summary = load_samples("real", real)
    assert all(piece.notes_per_second >= 0 for piece in summary.pieces)
    with pytest.raises(EncoreError, match="need prepared piano data"):
        generate_samples(PianoBundle.random("tiny"), tmp_path / "x.npz", config, "tiny", progress=False)
