"""The duet fine-tune: the performer's tokens are context only, and a few steps on the tiny v2 piano train,
report the duet and solo held-out losses and export a checkpoint with its card."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.tokenizer import PERFORMER_TOKEN
from encore.training.duet_tune.data import DuetCrops, load_songs, own_mask
from encore.training.duet_tune.sft import DuetSftConfig, run_duet_sft


def test_the_performers_marker_and_note_are_not_targets() -> None:
    ids = np.array([1, 4, 9, 99, 50, 60, 70, 51, 61, 71, 4])
    assert own_mask(ids, 99).tolist() == [True] * 3 + [False] * 4 + [True] * 4


def test_songs_mark_the_melody_as_the_performers(tiny_v2: PianoBundle, data_root: Path) -> None:
    vocab = tiny_v2.tokenizer.vocab
    duet = load_songs(data_root, "train", tiny_v2.tokenizer, limit=1)[0]
    solo = load_songs(data_root, "train", tiny_v2.tokenizer, limit=1, solo=True)[0]
    assert duet.ids[:2].tolist() == [vocab["BOS_None"], vocab["Style_pop"]]
    marked = int((duet.ids == vocab[PERFORMER_TOKEN]).sum())
    assert marked > 20 and int((~duet.own).sum()) == 4 * marked
    assert PERFORMER_TOKEN not in {tiny_v2.tokenizer[int(i)] for i in solo.ids} and solo.own.all()
    assert duet.melody_bar == solo.melody_bar > 0  # the song opens with the piano alone


def test_held_out_windows_start_where_the_melody_enters(tiny_v2: PianoBundle, data_root: Path) -> None:
    vocab = tiny_v2.tokenizer.vocab
    songs = load_songs(data_root, "validation", tiny_v2.tokenizer, limit=2)
    ids, targets = DuetCrops(songs, 256, vocab["PAD_None"], vocab["Bar_None"], 0).windows(2)
    assert ids[:, 0].tolist() == [vocab["Bar_None"]] * 2
    assert (ids == vocab[PERFORMER_TOKEN]).sum(dim=1).min() > 0  # the melody is in every duet window
    assert targets.sum() < (ids[:, 1:] != vocab["PAD_None"]).sum()


def test_a_few_steps_train_and_export(tiny_v2: PianoBundle, data_root: Path, tmp_path: Path) -> None:
    before = {name: tensor.clone() for name, tensor in tiny_v2.model.state_dict().items()}
    config = DuetSftConfig(data_root=data_root, run_dir=tmp_path / "run", steps=3, batch_size=2, crop=128,
                           learning_rate=1e-3, warmup_steps=1, eval_every=3, eval_songs=2, train_songs=2)
    metrics = run_duet_sft(config, bundle=tiny_v2, progress=False)
    for key in ("duet_loss_base", "duet_loss_tuned", "solo_loss_base", "solo_loss_tuned"):
        assert math.isfinite(metrics[key])
    assert metrics["duet_loss_tuned"] != metrics["duet_loss_base"]
    tuned = load_piano(tmp_path / "run" / "export")
    assert any(not torch.allclose(tensor, before[name].float(), atol=1e-3)
               for name, tensor in tuned.model.state_dict().items() if name in before)
    card = (tmp_path / "run" / "export" / "README.md").read_text()
    assert "duet fine-tune" in card and "solo" in card
