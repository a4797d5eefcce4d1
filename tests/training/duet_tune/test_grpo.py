"""Duet GRPO on the tiny v2 piano: a rollout lays the melody in through the duet code path; a 2-iteration
smoke run on 2 songs gives a finite loss, changes the weights and writes the export and its card."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.tokenizer import PERFORMER_TOKEN
from encore.training.duet_tune.grpo import run_duet_grpo, training_windows
from encore.training.duet_tune.grpo_config import DuetGrpoConfig, parse_weights
from encore.training.duet_tune.rollout import play_duet, provisional_notes


def test_provisional_durations_are_the_last_ended_notes() -> None:
    melody = [NoteEvent(0.0, 60, 90, 1.0), NoteEvent(0.5, 62, 90, 0.25), NoteEvent(2.0, 64, 90, 9.0),
              NoteEvent(12.0, 65, 90, 1.0)]
    assert [n.duration_beats for n in provisional_notes(melody)] == [0.5, 0.5, 1.0, 4.0]


def test_weights_parse_and_refuse_unknown_parts() -> None:
    assert parse_weights("harmony:2,clash:0").weights()["harmony"] == 2.0
    with pytest.raises(ValueError, match="unknown part 'chords'"):
        parse_weights("chords:1")


def test_a_rollout_lays_the_melody_in_as_the_performers(tiny_v2: PianoBundle, data_root: Path, tmp_path: Path) -> None:
    config = DuetGrpoConfig(data_root=data_root, run_dir=tmp_path, bars=2, seed_bars=1, train_songs=1)
    window = training_windows(config)[0]
    # A beat of lookahead: the random piano writes so many notes that 4 beats pass its rewind reach (512 tokens),
    # where the duet lays nothing in, as on stage.
    rollout = play_duet(tiny_v2, window, 0, 1.0, 1.0, config.commit_beats)
    marker = tiny_v2.tokenizer.vocab[PERFORMER_TOKEN]
    melody = [n for n in window.melody if 0 <= n.onset_beats < window.window_beats]
    assert rollout.tokens.count(marker) == len(melody) > 0
    assert not any(own for token, own in zip(rollout.tokens, rollout.own, strict=True) if token == marker)
    assert rollout.sampled > sum(rollout.own)  # the stream rendered its lookahead again after notes


def test_a_smoke_run_trains_and_exports(tiny_v2: PianoBundle, data_root: Path, tmp_path: Path) -> None:
    before = {name: tensor.clone() for name, tensor in tiny_v2.model.state_dict().items()}
    config = DuetGrpoConfig(data_root=data_root, run_dir=tmp_path / "run", iterations=2, songs_per_iteration=2,
                            group_size=2, bars=2, seed_bars=1, train_songs=2, eval_songs=2, eval_every=1,
                            learning_rate=1e-3, min_density=0.0, max_loss_rise=10.0)
    metrics = run_duet_grpo(config, bundle=tiny_v2)
    rows = [line for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines() if line]
    assert metrics["iterations"] == 2 and len(rows) == 2
    assert all(math.isfinite(v) for v in (metrics["reward_last"], metrics["held_out_tuned"], metrics["kl_last"]))
    tuned = load_piano(tmp_path / "run" / "export")
    assert any(not torch.allclose(tensor, before[name].float(), atol=1e-3)
               for name, tensor in tuned.model.state_dict().items() if name in before)
    card = (tmp_path / "run" / "export" / "README.md").read_text()
    assert "harmony 1" in card and "iterations: 2 of 2" in card and "held-out loss" in card
