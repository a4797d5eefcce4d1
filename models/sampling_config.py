"""The one sampling-settings type, from the command line through setlists and the engine's commands to
the sampler (`encore.models.piano.sampling`) and the drum voice: its defaults and validation live here once.

No heavy imports: the command line builds its options from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MAX_TEMPERATURE = 5.0
"""Highest temperature accepted anywhere (beyond it every model plays noise)."""


@dataclass(frozen=True)
class SamplingConfig:
    """Sampling settings; a live show swaps them between tokens (`changed`).

    Attributes:
        temperature: Softmax temperature in [0, 5]; 0 means greedy. For the groove VAE it scales the
            latent standard deviation.
        top_p: Nucleus size in (0, 1] (1 keeps every token).
        min_p: In [0, 1): drop tokens whose probability is below `min_p` times the top token's.
        repetition_penalty: Divide the probability of each recently sampled pitch by this (before
            renormalizing); 1 turns it off.
        repetition_window: How many recently sampled Pitch tokens the penalty looks at (0-128).
    """

    temperature: float = 1.0
    top_p: float = 0.95
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    repetition_window: int = 32

    def __post_init__(self) -> None:
        for name, ok, rule in (
            ("temperature", 0 <= self.temperature <= MAX_TEMPERATURE, f"in [0, {MAX_TEMPERATURE:g}] (0 is greedy)"),
            ("top_p", 0 < self.top_p <= 1, "in (0, 1]"),
            ("min_p", 0 <= self.min_p < 1, "in [0, 1)"),
            ("repetition_penalty", self.repetition_penalty > 0, "positive (1 is off)"),
            ("repetition_window", 0 <= self.repetition_window <= 128, "in [0, 128]"),
        ):
            if not ok:
                raise ValueError(f"{name}: must be {rule}, got {getattr(self, name)!r}")

    def changed(self, **changes: float | int) -> SamplingConfig:
        """A copy with some settings changed, validated.

        Raises:
            ValueError: an unknown setting or a value out of range, naming the setting.
        """
        unknown = set(changes) - set(SAMPLING_FIELDS)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a sampling setting (known: {', '.join(SAMPLING_FIELDS)})")
        return dataclasses.replace(self, **changes)


SAMPLING_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SamplingConfig))
"""The names of the sampling settings, in order."""
