"""The four groove VAEs: shapes, learning, the 11-input mask, checkpoints and the public API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from encore.models.errors import EncoreError
from encore.models.groove.checkpoint import load_vae, save_checkpoint
from encore.models.groove.config import MODEL_KINDS, GrooveConfig
from encore.models.groove.drum_map import DRUM_NAMES
from encore.models.groove.grid import DrumLoop
from encore.models.groove.model import GrooveModel, loop_inputs
from encore.models.groove.vae import GrooveVAE

TINY = {"encoder_hidden": 16, "decoder_hidden": 32, "aux_hidden": 16, "score_latent": 8, "groove_latent": 8}


def tiny(kind: str) -> GrooveVAE:
    torch.manual_seed(0)
    return GrooveVAE(GrooveConfig.from_name(kind, **TINY))


def test_slots_of_each_preset() -> None:
    assert GrooveConfig.from_name("baseline").slot_names == ("score",)
    assert GrooveConfig.from_name("factorized").slot_names == ("score", "groove")
    assert GrooveConfig.from_name("aux").has_aux and not GrooveConfig.from_name("factorized").has_aux
    assert GrooveConfig.from_name("aux11").slot_names == (*DRUM_NAMES, "groove", "accents")
    assert GrooveConfig.from_name("aux").slots[1].free_nats == pytest.approx(48 * np.log(2))
    with pytest.raises(ValueError, match="unknown groove model"):
        GrooveConfig.from_name("big")


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_forward_shapes_and_loss(kind: str, windows) -> None:
    model = tiny(kind)
    out = model(*windows)
    batch = windows[0].shape[0]
    for tensor in (out.decoded.hit_logits, out.decoded.velocities, out.decoded.offsets):
        assert tensor.shape == (batch, 32, 9)
    assert set(out.posteriors) == set(model.config.slot_names)
    assert out.posteriors[model.config.slot_names[0]].mean.shape == (batch, model.config.slots[0].size)
    if model.config.has_aux:
        assert out.aux["groove"].shape == (batch, 32, 3)
    loss, parts = model.loss(*windows)
    assert loss.ndim == 0 and np.isfinite(parts["loss"]) and 0 <= parts["hit_acc"] <= 1


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_a_few_steps_reduce_the_loss(kind: str, windows) -> None:
    torch.set_num_threads(1)
    model = tiny(kind)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _ = model.loss(*windows)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def test_eleven_input_model_never_plays_an_empty_instrument() -> None:
    vae = tiny("aux11")
    with torch.no_grad():
        vae.decoder.out.bias[:9] = 8.0  # the untrained decoder would now hit every drum on every step
    model = GrooveModel(vae)
    empty = np.zeros((32, 1), np.float32)
    played = model.generate({"kick": empty, "crash": empty}, samples=4, seed=0)
    for loop in played:
        assert loop.hits[:, 0].sum() == 0 and loop.hits[:, 7].sum() == 0
        assert loop.hits[:, [1, 2, 3, 4, 5, 6, 8]].all()


def test_humanize_drumify_and_read_back(windows) -> None:
    model = GrooveModel(tiny("aux"))
    hits, velocities, offsets = (w[3].numpy() for w in windows)
    inputs = loop_inputs(DrumLoop(hits, velocities, offsets))
    played = model.humanize(inputs["score"], samples=3, seed=1)
    assert len(played) == 3
    for loop in played:
        assert np.array_equal(loop.hits, hits)  # hits kept
        assert np.abs(loop.offsets).max() <= 1 and (loop.velocities[hits == 0] == 0).all()
    assert not np.allclose(played[0].offsets, played[1].offsets)  # fresh groove latent per sample
    again = model.humanize(inputs["score"], samples=3, seed=1)
    assert np.array_equal(again[0].offsets, played[0].offsets)
    assert model.drumify(inputs["groove"], seed=0)[0].hits.shape == (32, 9)
    readout = model.read_back({"score": inputs["score"], "groove": inputs["groove"]})
    assert readout["score"].shape == (32, 9) and readout["groove"].shape == (32, 3)
    with pytest.raises(EncoreError, match="empty"):
        model.humanize(np.zeros((32, 9)))
    with pytest.raises(EncoreError, match="cannot drumify"):
        GrooveModel(tiny("baseline")).drumify(inputs["groove"])
    with pytest.raises(EncoreError, match="no auxiliary"):
        GrooveModel(tiny("factorized")).read_back({"groove": inputs["groove"]})


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_checkpoint_round_trip(kind: str, tmp_path: Path, windows) -> None:
    model = tiny(kind).eval()
    save_checkpoint(model, tmp_path, {"steps": 0}, "# card\n")
    loaded = load_vae(tmp_path)
    assert loaded.config == model.config
    for name, value in model.state_dict().items():
        assert torch.allclose(loaded.state_dict()[name], value, atol=2e-3, rtol=1e-3)
    torch.manual_seed(0)
    a = model.decoder(torch.zeros(1, model.config.latent_size), torch.zeros(1, 32, 27)).offsets
    b = loaded.decoder(torch.zeros(1, model.config.latent_size), torch.zeros(1, 32, 27)).offsets
    assert torch.allclose(a, b, atol=1e-2)
    assert (tmp_path / "README.md").read_text() == "# card\n"


def test_loading_a_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoreError, match="no such checkpoint folder"):
        GrooveModel.load(tmp_path / "nothing")
