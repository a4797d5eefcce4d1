"""Inference API of the groove VAEs, for the offline CLI, the evaluation and the live drum voice.

Usage:

    from encore.models.groove.model import GrooveModel, loop_inputs
    model = GrooveModel.load("models/checkpoints/groove-aux")
    played = model.humanize(score)                  # score: (32, 9) hits -> [DrumLoop]
    played = model.humanize(score, groove=groove)   # groove: (32, 3) hit, velocity, offset per step
    drums = model.drumify(groove, samples=4)        # tap-to-drums: 4 different kits for one groove
    readout = model.read_back({"groove": groove})   # auxiliary decoders: how the model read a gesture
    events = loop_events(played[0])                 # models.groove_grid: NoteEvents in beats, GM pitches

Grooves to play with come from a performance (`loop_inputs(loop)["groove"]`), a tapped file
(`encore.models.groove.files.read_tap`) or the named library (`encore.models.groove.library.load_library()`).

Arrays follow `encore.models.groove.grid` (two bars of 16th notes, 9 drum classes; velocities in [0, 1],
offsets in 16th notes). Inputs left out are drawn from the prior N(0, I) with their standard deviation
scaled by `temperature`; inputs given are sampled from their posterior with the same scaling. With the
11-input model (`aux11`) an instrument given an empty pattern is never played.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from encore.models.errors import EncoreError
from encore.models.groove.checkpoint import load_vae
from encore.models.groove.drum_map import DRUM_NAMES, NUM_DRUMS
from encore.models.groove.grid import WINDOW_STEPS, DrumLoop
from encore.models.groove.vae import SLOT_CHANNELS, GrooveVAE, aux_readout, slot_input
from encore.models.shipped import resolve_checkpoint


def loop_inputs(loop: DrumLoop) -> dict[str, np.ndarray]:
    """Every input function applied to a two-bar loop: `score` (32, 9), `groove` (32, 3),
    `accents` (32, 1) and one (32, 1) pattern per drum name."""
    hits, velocities, offsets = (torch.from_numpy(np.asarray(a, np.float32))[None] for a in (loop.hits, loop.velocities, loop.offsets))
    return {name: slot_input(name, hits, velocities, offsets)[0].numpy() for name in ("score", "groove", "accents", *DRUM_NAMES)}


def _check(name: str, value: np.ndarray, batched: bool) -> np.ndarray:
    array = np.asarray(value, np.float32)
    shape = (WINDOW_STEPS, SLOT_CHANNELS[name])
    if array.shape[-2:] != shape or array.ndim != (3 if batched else 2):
        raise EncoreError(f"input {name!r} has shape {array.shape}; expected {'(batch, ) + ' if batched else ''}{shape}")
    return array


class GrooveModel:
    """A trained groove VAE ready to humanize scores and drumify grooves (see module docstring)."""

    def __init__(self, vae: GrooveVAE) -> None:
        self.vae = vae.eval()
        self.config = vae.config

    @classmethod
    def load(cls, path: str | Path) -> GrooveModel:
        """Load a checkpoint folder, or a shipped model by kind (`"aux"` means `checkpoints/groove-aux`)."""
        return cls(load_vae(resolve_checkpoint(path, "groove")))

    @property
    def kind(self) -> str:
        """Model kind: baseline, factorized, aux or aux11."""
        return self.config.kind

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the inputs this model accepts."""
        return self.config.slot_names

    def _check_names(self, inputs: Mapping[str, np.ndarray]) -> None:
        unknown = set(inputs) - set(self.input_names)
        if unknown:
            raise EncoreError(f"model {self.kind!r} takes no input {', '.join(sorted(unknown))}; it takes {', '.join(self.input_names)}")

    @torch.no_grad()
    def decode_batch(
        self,
        inputs: Mapping[str, np.ndarray],
        batch: int,
        temperature: float = 1.0,
        forced_hits: np.ndarray | None = None,
        generator_seed: int | None = None,
        allowed_steps: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode batched inputs, draw latents and decode: the workhorse of every other method.

        Args:
            inputs: slot name to (batch, 32, channels) array; slots left out come from the prior.
            batch: batch size (needed when `inputs` is empty).
            temperature: scale of the latent standard deviation.
            forced_hits: optional (batch, 32, 9) hits to play (humanize keeps the score's hits).
            generator_seed: seed of a private torch generator for reproducible latents (the global
                generator is used, and left untouched, when None).
            allowed_steps: optional (batch, 32) 0/1 array: no drum strikes on a step where it is 0.

        Returns:
            hits, velocities, offsets, each (batch, 32, 9); velocities and offsets are 0 where not hit.
        """
        self._check_names(inputs)
        tensors = {name: torch.from_numpy(_check(name, value, batched=True)) for name, value in inputs.items()}
        allowed = torch.ones(batch, self.config.steps, NUM_DRUMS)
        for name in (name for name in DRUM_NAMES if name in tensors):
            allowed[:, :, DRUM_NAMES.index(name)] = (tensors[name].amax(dim=(1, 2)) > 0.5).float()[:, None]
        if allowed_steps is not None:
            allowed = allowed * torch.from_numpy(np.asarray(allowed_steps, np.float32))[:, :, None]
        generator = torch.Generator().manual_seed(generator_seed) if generator_seed is not None else None
        z = self.vae.latent(self.vae.encode(tensors), batch, temperature, generator)
        forced = torch.from_numpy(np.asarray(forced_hits, np.float32)) if forced_hits is not None else None
        decoded = self.vae.decoder.generate(self.vae.joined(z), self.config.steps, forced, allowed)
        hits = decoded.hits
        return hits.numpy(), (decoded.velocities * hits).numpy(), (decoded.offsets * hits).numpy()

    def _loops(self, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[DrumLoop]:
        return [DrumLoop(h, v, o) for h, v, o in zip(*arrays, strict=True)]

    def generate(self, inputs: Mapping[str, np.ndarray], temperature: float = 1.0, samples: int = 1, seed: int | None = None) -> list[DrumLoop]:
        """Decode `samples` loops from any subset of the model's inputs, each (32, channels)."""
        self._check_names(inputs)
        batched = {name: np.repeat(_check(name, value, batched=False)[None], samples, 0) for name, value in inputs.items()}
        return self._loops(self.decode_batch(batched, samples, temperature, generator_seed=seed))

    def score_inputs(self, score: np.ndarray) -> dict[str, np.ndarray]:
        """The model's score inputs from a (..., 32, 9) score: `score`, or one pattern per drum for aux11."""
        score = (np.asarray(score, np.float32) > 0.5).astype(np.float32)
        if "score" in self.input_names:
            return {"score": score}
        return {name: score[..., i : i + 1] for i, name in enumerate(DRUM_NAMES)}

    def humanize(
        self,
        score: np.ndarray,
        groove: np.ndarray | None = None,
        temperature: float = 1.0,
        samples: int = 1,
        keep_hits: bool = True,
        seed: int | None = None,
    ) -> list[DrumLoop]:
        """Give a quantized score timing and dynamics.

        Args:
            score: (32, 9) hits; anything above 0.5 is a hit.
            groove: optional (32, 3) groove (hit, velocity, offset per step) to play the score with;
                without it the factorized models draw a fresh groove latent per sample.
            temperature: scale of the latent standard deviation.
            samples: number of performances.
            keep_hits: play exactly the score's hits (else the decoder may add or drop some).
            seed: seed for reproducible samples.

        Returns:
            `samples` performances.

        Raises:
            EncoreError: for an empty score or a groove given to a model without a groove input.
        """
        score = _check("score", score, batched=False)
        if not (score > 0.5).any():
            raise EncoreError("the score is empty: nothing to humanize")
        inputs = self.score_inputs(score)
        if groove is not None:
            if "groove" not in self.input_names:
                raise EncoreError(f"model {self.kind!r} takes no groove; use factorized, aux or aux11")
            inputs["groove"] = _check("groove", groove, batched=False)
        batched = {name: np.repeat(value[None], samples, 0) for name, value in inputs.items()}
        forced = np.repeat((score > 0.5).astype(np.float32)[None], samples, 0) if keep_hits else None
        return self._loops(self.decode_batch(batched, samples, temperature, forced, seed))

    def drumify(
        self,
        groove: np.ndarray,
        temperature: float = 1.0,
        samples: int = 1,
        seed: int | None = None,
        lock_to_groove: bool = False,
    ) -> list[DrumLoop]:
        """Turn a tapped groove (32, 3) into full drum loops; the score is drawn from the prior.

        Args:
            groove: hit, velocity and offset per 16th step.
            temperature: scale of the latent standard deviation.
            samples: number of drum loops.
            seed: seed for reproducible samples.
            lock_to_groove: strike only on the groove's hit steps (the model still picks the drums, their
                velocities and timing, and may leave a tapped step silent). Without it the prior's score
                decides where the hits go and the groove mostly sets the feel, so a syncopated tap can come
                back as a straight beat.

        Raises:
            EncoreError: for an empty groove or the baseline model (which has no groove input).
        """
        if "groove" not in self.input_names:
            raise EncoreError(f"model {self.kind!r} cannot drumify (no groove input); use factorized, aux or aux11")
        groove = _check("groove", groove, batched=False)
        tapped = groove[:, 0] > 0.5
        if not tapped.any():
            raise EncoreError("the groove is empty: nothing to drumify")
        steps = np.repeat(tapped[None].astype(np.float32), samples, 0) if lock_to_groove else None
        inputs = {"groove": np.repeat(groove[None], samples, 0)}
        return self._loops(self.decode_batch(inputs, samples, temperature, generator_seed=seed, allowed_steps=steps))

    @torch.no_grad()
    def read_back(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The auxiliary decoders' reading of each given input, from its posterior mean.

        Returns:
            For each input name, a (32, channels) array: hit probabilities for score, drums and accents;
            hit probability, velocity and offset for the groove.

        Raises:
            EncoreError: when the model has no auxiliary decoders.
        """
        if not self.config.has_aux:
            raise EncoreError(f"model {self.kind!r} has no auxiliary decoders; use aux or aux11")
        self._check_names(inputs)
        tensors = {name: torch.from_numpy(_check(name, value, batched=False))[None] for name, value in inputs.items()}
        posteriors = self.vae.encode(tensors)
        z = {name: posterior.mean for name, posterior in posteriors.items()}
        return {name: aux_readout(name, self.vae.aux_decoders[name](value))[0].numpy() for name, value in z.items()}
