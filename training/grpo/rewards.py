"""Rewards: one protocol (`score(batch) -> (N,) tensor`), a weighted sum, and a registry of names.

A reward spec on the command line is a name (`critic`) or weighted names (`critic:1,density:0.2`).
Names: `critic` (the audio critic's P(real), `encore.training.grpo.critic`), `audiobox` (Meta's Audiobox
Aesthetics content enjoyment, optional extra, `encore.training.grpo.audiobox`), and the symbolic ones
for ablations (`encore.training.grpo.symbolic`): `scale` (scale consistency), `density` (notes per
second in a target range), `pace` (notes per second against the real continuation of a split prompt)
and `cmajor` (fraction of notes in C major, the toy reward of the tests).
`preference` is a Bradley-Terry scorer trained on the arena's votes (`encore.training.grpo.preference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from encore.models.errors import EncoreError
from encore.training.grpo.render import Rendered
from encore.training.grpo.timing import TimedNote

REWARD_NAMES = ("critic", "audiobox", "scale", "density", "pace", "cmajor", "preference")


@dataclass
class RewardBatch:
    """What rewards read: each completion's notes (seconds from its start) and, if rendered, its audio.

    Attributes:
        notes: per completion, its notes.
        audio: the rendered crops, present when some reward `needs_audio`.
        crop_s: seconds of a crop (the symbolic rewards look at the same window).
        onsets_beats: per completion, its note onsets in beats from its start (tempo-free), where a
            reward reads them (`pace`).
        references: per completion, the onsets in beats of the notes that really followed its prompt (as
            many tokens as the completion has, from the same origin), or None where the prompt has no
            continuation (procedural prompts); None for the whole batch when none has.
    """

    notes: Sequence[Sequence[TimedNote]]
    audio: Rendered | None = None
    crop_s: float = 10.0
    onsets_beats: Sequence[Sequence[float]] | None = None
    references: Sequence[Sequence[float] | None] | None = None

    def __len__(self) -> int:
        return len(self.notes)

    def cropped_notes(self) -> list[list[TimedNote]]:
        """Per completion, the notes that start inside the crop."""
        return [[note for note in piece if 0 <= note.onset_s < self.crop_s] for piece in self.notes]


class Reward(Protocol):
    """A reward: higher is better, one float per completion."""

    name: str
    needs_audio: bool

    def score(self, batch: RewardBatch) -> torch.Tensor:
        """(N,) float32 rewards."""
        ...


class WeightedReward:
    """The weighted sum of several rewards."""

    def __init__(self, parts: Sequence[tuple[float, Reward]]) -> None:
        if not parts:
            raise EncoreError("a reward needs at least one part")
        self.parts = list(parts)
        self.name = "+".join(f"{weight:g}*{reward.name}" if weight != 1 else reward.name
                             for weight, reward in self.parts)
        self.needs_audio = any(reward.needs_audio for _, reward in self.parts)

    def score(self, batch: RewardBatch) -> torch.Tensor:
        total = torch.zeros(len(batch))
        for weight, reward in self.parts:
            total += weight * reward.score(batch).float().cpu()
        return total


def parse_reward_spec(spec: str) -> list[tuple[str, float]]:
    """`critic` or `critic:1,density:0.2` -> [(name, weight), ...].

    Raises:
        EncoreError: an unknown name or a weight that is not a number.
    """
    parts = []
    for item in filter(None, (piece.strip() for piece in spec.split(","))):
        name, _, weight = item.partition(":")
        if name not in REWARD_NAMES:
            known = ", ".join(REWARD_NAMES)
            raise EncoreError(f"unknown reward {name!r} (known: {known})")
        try:
            parts.append((name, float(weight) if weight else 1.0))
        except ValueError:
            raise EncoreError(f"reward weight {weight!r} of {name} is not a number") from None
    if not parts:
        raise EncoreError("empty reward spec")
    return parts


def build_reward(spec: str, *, critic: Path | None = None, audiobox_checkpoint: Path | None = None,
                 preference: Path | None = None, density_range: tuple[float, float] = (2.0, 10.0),
                 device: torch.device | str = "cpu") -> Reward:
    """The reward a spec names, each part built with the given settings.

    Raises:
        EncoreError: an unknown name, a missing critic or preference checkpoint, or the audiobox extra absent.
    """
    from encore.training.grpo import symbolic

    built: list[tuple[float, Reward]] = []
    for name, weight in parse_reward_spec(spec):
        if name == "critic":
            from encore.training.grpo.critic import CriticReward, default_critic_folder

            reward: Reward = CriticReward.load(critic or default_critic_folder(), device)
        elif name == "audiobox":
            from encore.training.grpo.audiobox import AudioboxReward

            reward = AudioboxReward(audiobox_checkpoint, device)
        elif name == "preference":
            from encore.training.grpo.preference import PreferenceReward, default_preference_folder

            reward = PreferenceReward.load(preference or default_preference_folder(), device)
        elif name == "scale":
            reward = symbolic.ScaleConsistency()
        elif name == "density":
            reward = symbolic.NoteDensity(*density_range)
        elif name == "pace":
            reward = symbolic.ContinuationPace()
        else:
            reward = symbolic.CMajorFraction()
        built.append((weight, reward))
    return built[0][1] if len(built) == 1 and built[0][0] == 1 else WeightedReward(built)
