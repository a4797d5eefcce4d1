"""The groove VAE: encoders per input function, latents, the main decoder, auxiliary decoders, the loss.

One class covers the four models of `encore.models.groove.config`; the config's `slots` say which inputs are
encoded. Given a batch of loops (hits, velocities, offsets, each (batch, steps, 9)) the model computes
every slot's input with `encore.models.groove.features`, encodes it to a posterior, concatenates the latents in
slot order and decodes the full loop. At inference any slot may be left out: its latent is drawn from the
prior N(0, I).

Loss per example (summed over steps and drums, averaged over the batch): hit cross-entropy plus
`value_weight` times the squared errors of velocities and (times `offset_weight`) offsets, where a drum is
hit (or on every cell with `values_on_all_steps`); plus `beta` times each latent's KL to N(0, I) above its
free-bits tolerance; plus, with auxiliary decoders, the same reconstruction terms for each slot's input read
back from its own latent alone. With `input_dropout`, training replaces some slots' latents by prior draws
before the main decoder (see `encore.models.groove.config.GrooveConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from encore.models.groove import features
from encore.models.groove.config import GrooveConfig
from encore.models.groove.drum_map import DRUM_NAMES
from encore.models.groove.layers import (
    AutoregressiveDecoder,
    DecodedLoop,
    LstmEncoder,
    LstmSequenceDecoder,
    MlpEncoder,
    MlpSequenceDecoder,
    Posterior,
)

#: Input channels of each kind of slot.
SLOT_CHANNELS: dict[str, int] = {
    "score": features.SCORE_CHANNELS,
    "groove": features.GROOVE_CHANNELS,
    "accents": features.ACCENT_CHANNELS,
    **{name: 1 for name in DRUM_NAMES},
}


def slot_input(name: str, hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """The input function of one slot applied to a batch of loops: (batch, steps, channels)."""
    if name == "score":
        return features.score(hits)
    if name == "groove":
        return features.groove(hits, velocities, offsets)
    if name == "accents":
        return features.accents(hits, velocities)
    return features.instrument(hits, DRUM_NAMES.index(name))


def reconstruction_loss(
    hit_logits: torch.Tensor,
    hits: torch.Tensor,
    values: list[tuple[torch.Tensor, torch.Tensor, float]],
    on_all_steps: bool = False,
) -> torch.Tensor:
    """Per-example loss: hit cross-entropy plus, for each (prediction, target, weight), weight times the
    squared errors on true hits (on every cell with `on_all_steps`)."""
    loss = F.binary_cross_entropy_with_logits(hit_logits, hits, reduction="none").flatten(1).sum(1)
    mask = torch.ones_like(hits) if on_all_steps else hits
    for prediction, target, weight in values:
        loss = loss + weight * (((prediction - target) ** 2) * mask).flatten(1).sum(1)
    return loss


def aux_readout(name: str, raw: torch.Tensor) -> torch.Tensor:
    """Turn an auxiliary decoder's raw output into a reconstruction: probabilities, velocity, offset."""
    if name != "groove":
        return torch.sigmoid(raw)
    return torch.cat([torch.sigmoid(raw[..., :1]), torch.sigmoid(raw[..., 1:2]), torch.tanh(raw[..., 2:])], -1)


@dataclass
class VaeOutput:
    """Result of a teacher-forced pass: the decoded loop, every slot's posterior, raw auxiliary outputs."""

    decoded: DecodedLoop
    posteriors: dict[str, Posterior]
    aux: dict[str, torch.Tensor]


class GrooveVAE(nn.Module):
    """Factorized-latent drum VAE (see module docstring)."""

    def __init__(self, config: GrooveConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoders = nn.ModuleDict()
        self.aux_decoders = nn.ModuleDict()
        for slot in c.slots:
            channels = SLOT_CHANNELS[slot.name]
            if c.uses_mlp:
                self.encoders[slot.name] = MlpEncoder(channels, c.steps, c.encoder_hidden, slot.size)
            else:
                self.encoders[slot.name] = LstmEncoder(channels, c.encoder_hidden, slot.size, c.dropout)
            if c.has_aux:
                decoder = MlpSequenceDecoder if c.uses_mlp else LstmSequenceDecoder
                self.aux_decoders[slot.name] = decoder(slot.size, c.steps, c.aux_hidden, channels)
        self.decoder = AutoregressiveDecoder(c.latent_size, c.decoder_hidden, c.decoder_layers, c.drums, c.dropout)

    def inputs(self, hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every slot's input computed from full loops."""
        return {name: slot_input(name, hits, velocities, offsets) for name in self.config.slot_names}

    def encode(self, inputs: dict[str, torch.Tensor]) -> dict[str, Posterior]:
        """Posteriors of the slots present in `inputs`."""
        return {name: self.encoders[name](value) for name, value in inputs.items()}

    def latent(
        self,
        posteriors: dict[str, Posterior],
        batch: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """One latent per slot: from its posterior where given, else from the prior, std scaled by temperature."""
        z: dict[str, torch.Tensor] = {}
        device = next(self.parameters()).device
        for slot in self.config.slots:
            if slot.name in posteriors:
                z[slot.name] = posteriors[slot.name].sample(temperature, generator)
            else:
                z[slot.name] = temperature * torch.randn(batch, slot.size, generator=generator, device=device)
        return z

    def joined(self, z: dict[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate per-slot latents in decoder order."""
        return torch.cat([z[name] for name in self.config.slot_names], dim=-1)

    def auxiliary(self, z: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw auxiliary-decoder outputs, one per slot (empty without auxiliary decoders)."""
        return {name: decoder(z[name]) for name, decoder in self.aux_decoders.items()}

    def masked(self, z: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """In training, each slot's latent replaced by a prior draw with probability `input_dropout`,
        independently per window; unchanged in eval mode or without input dropout."""
        rate = self.config.input_dropout
        if not (self.training and rate > 0):
            return z
        dropped = {}
        for name, value in z.items():
            drop = torch.rand(value.shape[0], 1, device=value.device) < rate
            dropped[name] = torch.where(drop, torch.randn_like(value), value)
        return dropped

    def forward(self, hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> VaeOutput:
        """Teacher-forced pass over a batch of loops."""
        posteriors = self.encode(self.inputs(hits, velocities, offsets))
        z = self.latent(posteriors, hits.shape[0])
        target = torch.cat([hits, velocities, offsets], dim=-1)
        return VaeOutput(self.decoder(self.joined(self.masked(z)), target), posteriors, self.auxiliary(z))

    def loss(
        self, hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss (scalar) and its parts as floats (`recon`, `kl`, `aux`, `hit_acc`)."""
        out = self(hits, velocities, offsets)
        decoded = out.decoded
        c = self.config
        values = [(decoded.velocities, velocities, c.value_weight), (decoded.offsets, offsets, c.value_weight * c.offset_weight)]
        recon = reconstruction_loss(decoded.hit_logits, hits, values, c.values_on_all_steps).mean()
        kl_raw = torch.zeros((), device=hits.device)
        kl_cost = torch.zeros((), device=hits.device)
        for slot in self.config.slots:
            kl = out.posteriors[slot.name].kl()
            kl_raw = kl_raw + kl.mean()
            kl_cost = kl_cost + (kl - slot.free_nats).clamp(min=0.0).mean()
        aux = torch.zeros((), device=hits.device)
        if out.aux:
            inputs = self.inputs(hits, velocities, offsets)
            for name, raw in out.aux.items():
                target = inputs[name]
                if name == "groove":
                    read = aux_readout(name, raw)
                    groove_values = [(read[..., 1:2], target[..., 1:2], c.value_weight),
                                     (read[..., 2:], target[..., 2:], c.value_weight * c.offset_weight)]
                    term = reconstruction_loss(raw[..., :1], target[..., :1], groove_values, c.values_on_all_steps)
                else:
                    term = reconstruction_loss(raw, target, [])
                aux = aux + term.mean()
        total = recon + self.config.beta * kl_cost + self.config.aux_weight * aux
        with torch.no_grad():
            accuracy = ((decoded.hit_logits > 0).float() == hits).float().mean()
        parts = {"loss": total.item(), "recon": recon.item(), "kl": kl_raw.item(), "aux": aux.item(), "hit_acc": accuracy.item()}
        return total, parts
