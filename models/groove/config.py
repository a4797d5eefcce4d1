"""Configuration of the groove VAEs: one dataclass, four named presets (one per model of the paper).

Presets (`GrooveConfig.from_name`):

- `baseline`: one latent, the score in, the full performance out (the Humanize setting of GrooVAE);
- `factorized`: score and groove, each through a bidirectional LSTM to its own latent (Z1, Z2);
- `aux`: `factorized` plus auxiliary decoders reading the score from Z1 and the groove from Z2;
- `aux11`: 11 inputs (9 per-drum scores, groove, accents) with small MLP encoders and MLP auxiliary
  decoders, any subset of which may be given at inference.

Setups (`SETUPS`, the `setup` argument of `from_name`): `encore`, the shipped models' training, and `paper`,
Magenta's GrooVAE hyper-parameters as far as they carry over (docs/groove.md, "Setup audit"): 512-unit
encoders, 256-dim latents, a 2-layer decoder, input dropout 0.7 on every LSTM layer, the velocity and offset
errors on every cell at weight 1 with offsets in Magenta's tensor units (twice ours, so their squared
error weighs 4), and for `aux11` inputs masked in training.

Every checkpoint stores its config as JSON, so `GrooveConfig(**json)` rebuilds the model; fields added
since default to the behaviour the older checkpoints were trained with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from encore.models.groove.drum_map import DRUM_NAMES, NUM_DRUMS
from encore.models.groove.grid import WINDOW_STEPS

MODEL_KINDS: tuple[str, ...] = ("baseline", "factorized", "aux", "aux11")

#: Named training setups: field overrides applied by `GrooveConfig.from_name` (see module docstring).
SETUPS: dict[str, dict[str, Any]] = {
    "encore": {},
    "paper": {
        "encoder_hidden": 512,
        "decoder_layers": 2,
        "score_latent": 256,
        "groove_latent": 256,
        "dropout": 0.7,
        "value_weight": 1.0,
        "offset_weight": 4.0,
        "values_on_all_steps": True,
    },
}
#: Extra overrides of the `paper` setup per kind: the 11-input model learns to take any subset of inputs.
PAPER_KIND_SETUPS: dict[str, dict[str, Any]] = {"aux11": {"input_dropout": 0.5}}


@dataclass(frozen=True)
class LatentSlot:
    """One encoder input and its latent.

    Attributes:
        name: `score`, `groove`, `accents` or a drum name from `encore.models.groove.drum_map.DRUM_NAMES`.
        size: latent dimensions.
        free_bits: KL tolerance in bits; no KL penalty below it.
    """

    name: str
    size: int
    free_bits: float

    @property
    def free_nats(self) -> float:
        """The tolerance in nats."""
        return self.free_bits * math.log(2.0)


@dataclass
class GrooveConfig:
    """Hyper-parameters of a groove VAE.

    Attributes:
        kind: one of `MODEL_KINDS`.
        steps: window length in 16th notes.
        drums: drum classes.
        encoder_hidden: units per direction of each LSTM encoder (or hidden units of each MLP encoder).
        decoder_hidden: units of the main LSTM decoder.
        decoder_layers: layers of the main LSTM decoder.
        aux_hidden: units of each auxiliary decoder.
        score_latent: size of Z1 (or of the baseline's single latent).
        groove_latent: size of Z2.
        drum_latent: size of each per-drum score latent (`aux11`).
        accent_latent: size of the accent latent (`aux11`).
        free_bits: KL tolerance of the score and groove latents, in bits.
        drum_free_bits: KL tolerance of each per-drum and the accent latent, in bits (`aux11`).
        beta: weight of the KL terms.
        value_weight: weight of the velocity and offset squared errors against the hit cross-entropy.
            Magenta's GrooVAE uses 1. With our ~10-minute CPU budget the hit term then dominates and the
            decoder learns to ignore the groove's timing (a first factorized run reached an offset error
            of 0.133 steps with the groove given, against 0.160 for always predicting 0), hence 10.
        offset_weight: extra weight of the offset squared error relative to the velocity one (Magenta's
            tensors hold offsets at twice our scale, so its loss weighs our offset errors by 4).
        values_on_all_steps: take the velocity and offset errors on every cell, where the target is 0
            off the hits (Magenta), rather than on true hits only.
        dropout: in training, dropout on the inputs of every LSTM layer (LSTM encoders, main decoder);
            Magenta's GrooVAE keeps 0.3 of them, i.e. 0.7. It stops the decoder leaning on the previous
            step alone and makes it read the latents.
        aux_weight: weight of the auxiliary reconstruction losses.
        input_dropout: in training, the chance that a slot's latent is replaced, per window, by a draw from
            the prior (the main decoder only; auxiliary decoders still read the posterior), so the model
            learns to play from any subset of its inputs, as generation asks of it.
        slots: the latents, derived from `kind`.
    """

    kind: str = "aux"
    steps: int = WINDOW_STEPS
    drums: int = NUM_DRUMS
    encoder_hidden: int = 128
    decoder_hidden: int = 256
    decoder_layers: int = 1
    aux_hidden: int = 128
    score_latent: int = 32
    groove_latent: int = 32
    drum_latent: int = 4
    accent_latent: int = 8
    free_bits: float = 48.0
    drum_free_bits: float = 8.0
    beta: float = 0.2
    value_weight: float = 10.0
    offset_weight: float = 1.0
    values_on_all_steps: bool = False
    dropout: float = 0.0
    aux_weight: float = 1.0
    input_dropout: float = 0.0
    slots: tuple[LatentSlot, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown groove model {self.kind!r}; expected one of {', '.join(MODEL_KINDS)}")
        for name in ("dropout", "input_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {getattr(self, name)})")
        score = LatentSlot("score", self.score_latent, self.free_bits)
        groove = LatentSlot("groove", self.groove_latent, self.free_bits)
        if self.kind == "baseline":
            self.slots = (score,)
        elif self.kind in ("factorized", "aux"):
            self.slots = (score, groove)
        else:
            drums = tuple(LatentSlot(name, self.drum_latent, self.drum_free_bits) for name in DRUM_NAMES)
            self.slots = (*drums, groove, LatentSlot("accents", self.accent_latent, self.drum_free_bits))

    @property
    def has_aux(self) -> bool:
        """Whether the model has auxiliary decoders."""
        return self.kind in ("aux", "aux11")

    @property
    def uses_mlp(self) -> bool:
        """Whether encoders and auxiliary decoders are MLPs (else LSTMs)."""
        return self.kind == "aux11"

    @property
    def latent_size(self) -> int:
        """Size of the concatenated latent fed to the main decoder."""
        return sum(slot.size for slot in self.slots)

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Names of the latents, in decoder order."""
        return tuple(slot.name for slot in self.slots)

    @classmethod
    def from_name(cls, name: str, setup: str = "encore", **overrides: Any) -> GrooveConfig:
        """The preset of one model kind in a named setup (`SETUPS`), with optional field overrides.

        Raises:
            ValueError: for an unknown kind, setup or field.
        """
        if name not in MODEL_KINDS:
            raise ValueError(f"unknown groove model {name!r}; expected one of {', '.join(MODEL_KINDS)}")
        if setup not in SETUPS:
            raise ValueError(f"unknown groove setup {setup!r}; expected one of {', '.join(SETUPS)}")
        fields = {**SETUPS[setup], **(PAPER_KIND_SETUPS.get(name, {}) if setup == "paper" else {}), **overrides}
        unknown = (set(fields) - set(cls().to_dict())) | ({"kind"} & set(fields))
        if unknown:
            raise ValueError(f"unknown groove model option {', '.join(sorted(unknown))}")
        return replace(cls(kind=name), **fields)

    def to_dict(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready (derived fields left out)."""
        data = asdict(self)
        data.pop("slots")
        return data
