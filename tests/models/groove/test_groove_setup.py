"""The setup options the audit against GrooVAE added (docs/groove.md, "Setup audit"), and the lock that
makes drumified grooves keep their rhythm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encore.models.groove.config import SETUPS, GrooveConfig
from encore.models.groove.layers import AutoregressiveDecoder, LstmEncoder
from encore.models.groove.model import GrooveModel
from encore.models.groove.vae import GrooveVAE, reconstruction_loss

TINY = {"encoder_hidden": 16, "decoder_hidden": 32, "aux_hidden": 16, "score_latent": 8, "groove_latent": 8}


def test_the_paper_setup_sets_the_groovae_hyper_parameters() -> None:
    paper = GrooveConfig.from_name("aux", "paper")
    assert (paper.encoder_hidden, paper.decoder_layers, paper.score_latent, paper.groove_latent) == (512, 2, 256, 256)
    assert (paper.dropout, paper.value_weight, paper.offset_weight, paper.values_on_all_steps) == (0.7, 1.0, 4.0, True)
    assert paper.input_dropout == 0.0 and GrooveConfig.from_name("aux11", "paper").input_dropout == 0.5
    shipped = GrooveConfig.from_name("aux")
    assert (shipped.dropout, shipped.offset_weight, shipped.values_on_all_steps, shipped.input_dropout) == (0.0, 1.0, False, 0.0)
    assert GrooveConfig.from_name("aux", "paper", dropout=0.0).dropout == 0.0  # an ablation
    assert set(SETUPS) == {"encore", "paper"}


@pytest.mark.parametrize(("args", "overrides", "message"), [
    (("aux", "huge"), {}, "unknown groove setup 'huge'"),
    (("aux",), {"dropuot": 0.5}, "unknown groove model option dropuot"),
    (("aux",), {"kind": "baseline"}, "unknown groove model option kind"),
    (("aux",), {"dropout": 1.0}, "dropout must be in [0, 1)"),
])
def test_bad_setups_are_named(args: tuple[str, ...], overrides: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        GrooveConfig.from_name(*args, **overrides)
    assert message in str(error.value)


def test_shipped_checkpoints_keep_the_behaviour_they_were_trained_with() -> None:
    config = GrooveModel.load("aux11").config  # its config.json predates the new fields
    assert (config.dropout, config.offset_weight, config.values_on_all_steps, config.input_dropout) == (0.0, 1.0, False, 0.0)
    assert GrooveModel.load("factorized").config.offset_weight == 4.0  # trained with the option (docs/groove.md)


def test_value_errors_on_hits_or_on_every_cell_with_their_weights() -> None:
    hits = torch.zeros(1, 2, 1)
    hits[0, 0, 0] = 1.0
    logits = torch.zeros(1, 2, 1)  # cross-entropy log 2 per cell
    velocity = (torch.tensor([[[0.5], [0.25]]]), torch.zeros(1, 2, 1), 1.0)  # errors 0.25 on the hit, 0.0625 off it
    offset = (torch.tensor([[[0.1], [0.3]]]), torch.zeros(1, 2, 1), 4.0)  # errors 0.01 on the hit, 0.09 off it
    base = 2 * np.log(2)
    on_hits = reconstruction_loss(logits, hits, [velocity, offset]).item()
    everywhere = reconstruction_loss(logits, hits, [velocity, offset], on_all_steps=True).item()
    assert on_hits == pytest.approx(base + 0.25 + 4 * 0.01)
    assert everywhere == pytest.approx(base + 0.25 + 0.0625 + 4 * (0.01 + 0.09))


def test_dropout_acts_on_encoder_and_decoder_inputs_in_training_only() -> None:
    torch.manual_seed(0)
    encoder, decoder = LstmEncoder(9, 16, 8, dropout=0.7), AutoregressiveDecoder(8, 32, 2, 9, dropout=0.7)
    inputs, z, target = torch.rand(4, 32, 9), torch.randn(4, 8), torch.rand(4, 32, 27)
    for module, call in ((encoder, lambda: encoder(inputs).mean), (decoder, lambda: decoder(z, target).offsets)):
        module.train()
        assert not torch.equal(call(), call())
        module.eval()
        assert torch.equal(call(), call())
    assert decoder.lstm.dropout == 0.7  # between the two layers too


def test_input_dropout_swaps_whole_latents_for_prior_draws_in_training() -> None:
    torch.manual_seed(0)
    vae = GrooveVAE(GrooveConfig.from_name("aux11", input_dropout=0.5, **TINY))
    z = {slot.name: torch.full((2000, slot.size), 5.0) for slot in vae.config.slots}  # far from the prior
    vae.train()
    masked = vae.masked(z)
    for name, value in masked.items():
        kept = (value == 5.0).all(dim=1)
        assert ((value != 5.0).all(dim=1) | kept).all(), name  # a latent is kept or replaced whole
        assert 0.45 < 1 - kept.float().mean().item() < 0.55, name
        assert value[~kept].std().item() == pytest.approx(1.0, abs=0.05)
    vae.eval()
    assert all(torch.equal(vae.masked(z)[name], z[name]) for name in z)


@pytest.mark.parametrize("kind", ["factorized", "aux", "aux11"])
def test_a_locked_drumify_strikes_only_on_tapped_steps(kind: str) -> None:
    model = GrooveModel.load(kind)
    groove = np.zeros((32, 3), np.float32)
    tapped = [0, 3, 6, 8, 11, 14, 16, 19, 22, 24, 27, 30]  # 3-3-2 on 16ths
    groove[tapped] = (1.0, 0.7, 0.05)
    free = np.concatenate([loop.hits for loop in model.drumify(groove, samples=8, seed=1)])
    locked = model.drumify(groove, samples=8, seed=1, lock_to_groove=True)
    struck = np.concatenate([loop.hits.max(axis=1) for loop in locked])
    assert free.reshape(8, 32, 9).max(axis=2)[:, np.setdiff1d(range(32), tapped)].any()  # unlocked: elsewhere too
    assert set(np.flatnonzero(struck.reshape(8, 32).max(axis=0))) <= set(tapped)
    assert struck.reshape(8, 32)[:, tapped].mean() > 0.4  # and it does play the tap
    for loop in locked:
        assert not loop.velocities[loop.hits == 0].any() and not loop.offsets[loop.hits == 0].any()
