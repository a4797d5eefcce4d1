"""Settings of a GRPO run and of a critic training run, apart from the trainers so the command line reads
defaults without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.paths import runs_dir

PROMPT_SOURCES = ("procedural", "split", "mixed")


@dataclass(kw_only=True)
class RenderSettings:
    """How completions become audio for the audio rewards (see `encore.training.grpo.render`).

    Attributes:
        soundfont: the .sf2/.sf3 file.
        sample_rate: frames per second of the mono audio.
        crop_s: seconds rendered from the start of each completion (SMART: 10 s).
        render_workers: worker processes, each with its own synth (0: render in this process).
    """

    soundfont: Path = DEFAULT_SOUNDFONT
    sample_rate: int = 16000
    crop_s: float = 10.0
    render_workers: int = 2


@dataclass(kw_only=True)
class GrpoConfig(TrainerConfig, RenderSettings):
    """One GRPO run; `steps` counts iterations, `batch_size` prompts per iteration (per process under DDP).

    Shared fields: see `TrainerConfig`. GRPO fields:

    Attributes:
        checkpoint: base model (a checkpoint folder or a shipped name); also the frozen reference.
        reward: reward spec, `name` or `name:weight,name:weight` (see `encore.training.grpo.rewards`).
        critic: critic checkpoint folder for the `critic` reward (None: `runs/critic/export`).
        audiobox_checkpoint: local Audiobox Aesthetics checkpoint file for the `audiobox` reward.
        preference: preference folder for the `preference` reward (None: `runs/preference/export`).
        group_size: completions per prompt (G).
        max_new_tokens: tokens sampled per completion.
        temperature: sampling temperature (no top-p: log-probs are of the full masked distribution).
        clip_epsilon: PPO clip range of the importance ratio.
        beta: weight of the per-token KL (k3 estimator) to the reference.
        inner_updates: optimizer steps on each iteration's samples (mu).
        micro_batch: sequences per forward/backward in an update (gradients are accumulated).
        prompts: `procedural`, `split` (cut from the training split) or `mixed` (each iteration picks one).
        split_fraction: in `mixed`, the probability that an iteration takes its prompts from the split.
        prompt_tokens: length of a prompt cut from the split (BOS included).
        tempo_range: bpm range of procedural prompts' Tempo tokens.
        cache_dir: prepared piano data (`encore data piano`) for split prompts and held-out loss.
        density_range: notes per second rewarded fully by the `density` reward.
        eval_windows: held-out windows for the export's validation loss (needs `cache_dir`).
        device: torch device; `auto` is CUDA when available, else CPU.
    """

    checkpoint: str = "default"
    reward: str = "critic"
    critic: Path | None = None
    audiobox_checkpoint: Path | None = None
    preference: Path | None = None
    steps: int = 200
    batch_size: int = 8
    group_size: int = 8
    max_new_tokens: int = 256
    temperature: float = 1.0
    learning_rate: float = 1e-4
    min_lr_ratio: float = 0.0
    clip_epsilon: float = 0.2
    beta: float = 0.04
    inner_updates: int = 1
    micro_batch: int = 16
    eval_every: int = 10
    save_every: int | None = 1  # an iteration takes minutes on a CPU: keep every one
    prompts: str = "mixed"
    split_fraction: float = 0.5
    prompt_tokens: int = 64
    tempo_range: tuple[float, float] = (60.0, 180.0)
    cache_dir: Path | None = None
    density_range: tuple[float, float] = (2.0, 10.0)
    eval_windows: int = 64
    device: str = "auto"

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir) if self.cache_dir is not None else None
        self.critic = Path(self.critic) if self.critic is not None else None
        self.preference = Path(self.preference) if self.preference is not None else None
        self.soundfont = Path(self.soundfont)
        self.tempo_range = tuple(self.tempo_range)
        self.density_range = tuple(self.density_range)
        super().__post_init__()

    def default_run_dir(self) -> Path:
        return runs_dir("grpo")

    def validate(self) -> None:
        super().validate()
        self.check_at_least({"group_size": 2, "max_new_tokens": 1, "inner_updates": 1, "micro_batch": 1,
                             "prompt_tokens": 2, "eval_windows": 1, "render_workers": 0})
        if not self.temperature > 0:
            raise TrainerConfigError("temperature", f"must be positive (got {self.temperature})")
        if self.beta < 0 or self.clip_epsilon <= 0:
            raise TrainerConfigError("beta", "must not be negative and clip_epsilon must be positive")
        if self.prompts not in PROMPT_SOURCES:
            raise TrainerConfigError("prompts", f"must be one of {', '.join(PROMPT_SOURCES)} (got {self.prompts!r})")
        if self.prompts != "procedural" and self.cache_dir is None:
            raise TrainerConfigError("prompts", f"{self.prompts!r} needs prepared data (cache_dir)")

    def learning_rate_at(self, step: int) -> float:
        """Linear decay from `learning_rate` to `min_lr_ratio * learning_rate` at `steps` (after any warm-up)."""
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps))
        return self.learning_rate * (1 - (1 - self.min_lr_ratio) * progress)


@dataclass(kw_only=True)
class CriticTrainerConfig(TrainerConfig, RenderSettings):
    """Training the audio critic: rendered real piano (training split) against rendered base samples.

    Attributes:
        cache_dir: prepared piano data (`encore data piano`).
        checkpoint: base model whose samples are the negatives.
        real_examples: real crops in the training set (as many base samples).
        held_out_examples: held-out real crops (validation split) and as many fresh base samples.
        max_new_tokens: tokens per base sample (as in GRPO's completions).
        prompt_tokens: length of split prompts for the base samples (half of them; the rest procedural).
        sample_batch: base samples drawn at once.
        device: torch device; `auto` is CUDA when available, else CPU.
        negatives: crops that are not piano music added to the negatives (`negatives.TRAIN_FAMILIES`:
            coloured noise, clicks, rendered random-note clusters, clipped piano, near silence), so a
            policy cannot win reward with noise (a run without them scored white noise 0.74 and our
            samples 0.08; one with white noise alone still scored unseen brown noise 0.17); 0 leaves them out.
        level_invariant: train a critic that does not hear level (`CriticConfig.level_invariant`), so a policy
            cannot win reward by playing louder.
    """

    cache_dir: Path
    checkpoint: str = "default"
    steps: int = 600
    batch_size: int = 32
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    eval_every: int = 100
    real_examples: int = 512
    held_out_examples: int = 64
    max_new_tokens: int = 256
    prompt_tokens: int = 64
    sample_batch: int = 64
    device: str = "auto"
    negatives: int = 320
    level_invariant: bool = False

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self.soundfont = Path(self.soundfont)
        super().__post_init__()

    def default_run_dir(self) -> Path:
        return runs_dir("critic")

    def validate(self) -> None:
        super().validate()
        self.check_at_least({"real_examples": 2, "held_out_examples": 1, "max_new_tokens": 1, "sample_batch": 1,
                             "render_workers": 0, "negatives": 0})
