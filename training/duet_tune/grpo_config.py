"""Settings of a duet GRPO run (apart from the loop, so the command line reads them without torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from encore.training.duet_tune.rewards import DuetRewardConfig
from encore.training.paths import default_data_root, runs_dir


def parse_weights(text: str | None) -> DuetRewardConfig:
    """`harmony:1,clash:0.5` -> a reward config with those weights (the others at their defaults).

    Raises:
        ValueError: an unknown part or a weight that is not a number.
    """
    if not text:
        return DuetRewardConfig()
    known = DuetRewardConfig().weights()
    weights = {}
    for item in text.split(","):
        name, _, value = item.partition(":")
        if name.strip() not in known:
            raise ValueError(f"reward weights: unknown part {name.strip()!r} (parts: {', '.join(known)})")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"reward weights: {item!r} is not name:number") from None
    return DuetRewardConfig(**weights)


@dataclass(kw_only=True)
class DuetGrpoConfig:
    """One duet GRPO run.

    Attributes:
        checkpoint: The v2 base, also the frozen reference of the KL.
        data_root: Folder holding pop909/ (prompts from the training split, the held-out loss from validation).
        run_dir: Where the log and `export/` go.
        iterations: GRPO iterations.
        songs_per_iteration: Prompts (song windows) per iteration.
        group_size: Rollouts per prompt (G).
        bars, seed_bars: The window played and the seed before it (as `encore duet-eval` cuts them).
        train_songs: Training songs drawn from (None: all that qualify).
        learning_rate, temperature, clip_epsilon, beta: The GRPO core's settings (one update per iteration).
        lookahead_beats: How far past a melody note the stream has rendered when the note comes (the engine's
            lookahead); commit_beats: what it sampled before this many beats after the note stands.
        reward: The reward's weights and settings.
        eval_songs, eval_every: The held-out loss of real accompaniments (own tokens of validation songs, the
            melody as context) every this many iterations.
        max_loss_rise: Stop when that loss has risen more than this fraction above the base's.
        min_density: Stop when the rollouts' mean density reward falls below this (a sparser texture is a
            cheap win the earlier runs found).
        seed: Seed of the song draws and the rollouts' sampling.
    """

    checkpoint: str = "v2"
    data_root: Path = default_data_root()
    run_dir: Path = runs_dir("duet-grpo")
    iterations: int = 50
    songs_per_iteration: int = 4
    group_size: int = 4
    bars: int = 4
    seed_bars: int = 4
    train_songs: int | None = None
    learning_rate: float = 1e-5
    temperature: float = 1.0
    clip_epsilon: float = 0.2
    beta: float = 0.04
    lookahead_beats: float = 4.0
    commit_beats: float = 0.25
    reward: DuetRewardConfig = field(default_factory=DuetRewardConfig)
    eval_songs: int = 16
    eval_every: int = 5
    max_loss_rise: float = 0.02
    min_density: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        self.data_root, self.run_dir = Path(self.data_root), Path(self.run_dir)
        if min(self.iterations, self.songs_per_iteration, self.bars, self.seed_bars, self.eval_songs,
               self.eval_every) < 1 or self.group_size < 2:
            raise ValueError("iterations, songs_per_iteration, bars, seed_bars, eval_songs, eval_every must be >= 1 "
                             "and group_size >= 2")
        if not (self.temperature > 0 and self.learning_rate > 0 and self.beta >= 0 and self.commit_beats >= 0
                and self.lookahead_beats >= self.commit_beats):
            raise ValueError("temperature and learning_rate > 0, beta >= 0, 0 <= commit_beats <= lookahead_beats")
