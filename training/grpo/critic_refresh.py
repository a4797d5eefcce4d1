"""Critic refresh, GRPO's guard against reward hacking: as GAPT co-trains its discriminator, every
`refresh_critic_every` iterations the reward's critic is fine-tuned in place on real crops of the training
split (label 1) against the policy's latest rendered samples and a few of the critic's training negatives
(label 0). Each refresh reports how fooled the critic was by the latest samples, before and after.

The real crops and negatives are rendered once, at the first refresh, from a seeded generator and by a
synth of their own (FluidSynth's output depends on what it rendered before), so a resumed run builds the
same; the policy's log-mels of the last `refresh_window` iterations, the critic and its
optimizer go into GRPO's resumable state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from encore.models.errors import EncoreError
from encore.models.piano.streaming_decoder import TokenTable
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.critic import CriticReward, default_critic_folder, save_critic
from encore.training.grpo.critic_train import crop_mels, mel_probabilities, real_crops
from encore.training.grpo.negatives import training_negatives
from encore.training.grpo.render import RenderConfig, Rendered, Renderer
from encore.training.grpo.rewards import Reward, WeightedReward
from encore.training.model_card import markdown_table, render_card
from encore.training.optimizer_step import clipped_step
from encore.training.piano.prep import load_split

NEGATIVES_PER_REAL = 0.25
"""Training negatives rendered per real crop of the pool."""
NEGATIVE_SHARE = 8
"""One crop in this many of a refresh batch is a training negative."""
REAL_CHECK = 64
"""Real crops of the pool on which the refreshed critic's P(real) is reported."""
REPORTED = ("critic_accuracy_before", "critic_accuracy_after", "critic_p_real_before", "critic_p_real_after",
            "critic_real_p_real")


def find_critic(reward: Reward) -> CriticReward:
    """The critic of `reward`: the reward itself or a part of a weighted sum.

    Raises:
        EncoreError: the reward has no critic.
    """
    parts = [part for _, part in reward.parts] if isinstance(reward, WeightedReward) else [reward]
    for part in parts:
        if isinstance(part, CriticReward):
            return part
    raise EncoreError(f"--refresh-critic-every needs the critic in the reward (got {reward.name})")


class CriticRefresh:
    """Fine-tunes the critic of GRPO's reward on the policy's rendered samples.

    Args:
        config: the run's settings (`refresh_*` fields, `cache_dir`, rendering, `seed`, `grad_clip`).
        reward: GRPO's reward; its critic's model is refreshed in place.
        table: the tokenizer's table (split tokens to notes).
        render_config: how GRPO renders (the real crops and negatives are rendered alike).

    Raises:
        EncoreError: the reward has no critic, or the run is distributed.
    """

    def __init__(self, config: GrpoConfig, reward: Reward, table: TokenTable,
                 render_config: RenderConfig) -> None:
        self.critic = find_critic(reward).model
        if dist.is_initialized() and dist.get_world_size() > 1:
            raise EncoreError("--refresh-critic-every runs in one process only, not under torchrun")
        self.config = config
        self.table = table
        self.render_config = render_config
        self.optimizer = torch.optim.AdamW(self.critic.parameters(), lr=config.refresh_critic_lr, weight_decay=0.01)
        self.policy_mels: deque[torch.Tensor] = deque(maxlen=config.refresh_window)
        self._pool: dict[str, torch.Tensor] | None = None

    def pool(self) -> dict[str, torch.Tensor]:
        """Log-mels of the real crops and the training negatives (rendered at the first call)."""
        if self._pool is None:
            config = self.config
            rng = np.random.default_rng(config.seed + 1)
            pieces = real_crops(self.table, *load_split(config.cache_dir, "train"), config.refresh_real_crops,
                                config.crop_s, rng)
            with Renderer(self.render_config) as renderer:
                real = renderer.render(pieces).audio
                negatives = training_negatives(rng, max(1, round(NEGATIVES_PER_REAL * len(real))), real.shape[1],
                                               config.sample_rate, config.crop_s, real,
                                               lambda notes: renderer.render(notes).audio)
            self._pool = {"real": crop_mels(self.critic, real), "negatives": crop_mels(self.critic, negatives)}
        return self._pool

    def after_iteration(self, iteration: int, audio: Rendered) -> dict[str, float]:
        """Keep the iteration's audible crops; refresh if `iteration` is due and has any. Returns the log entries
        of the refresh (empty when none ran)."""
        audible = audio.audio[~audio.silent]
        if not len(audible):
            return {}
        self.policy_mels.append(crop_mels(self.critic, audible))
        return self.refresh(iteration) if iteration % self.config.refresh_critic_every == 0 else {}

    def refresh(self, iteration: int) -> dict[str, float]:
        """`refresh_critic_steps` steps on batches of real crops, policy samples and negatives (drawn from a
        generator seeded by the iteration); P(real) and accuracy on the latest samples before and after."""
        started = time.perf_counter()
        config = self.config
        pool, latest = self.pool(), self.policy_mels[-1]
        policy = torch.cat(list(self.policy_mels))
        before = mel_probabilities(self.critic, latest)
        rng = np.random.default_rng((config.seed, iteration))
        real_count = config.refresh_critic_batch // 2
        negative_count = config.refresh_critic_batch // NEGATIVE_SHARE
        policy_count = config.refresh_critic_batch - real_count - negative_count
        device = next(self.critic.parameters()).device
        labels = torch.cat([torch.ones(real_count), torch.zeros(policy_count + negative_count)]).to(device)
        self.critic.train()
        for _ in range(config.refresh_critic_steps):
            mels = torch.cat([source[torch.from_numpy(rng.choice(len(source), size=count))] for source, count in
                              ((pool["real"], real_count), (policy, policy_count), (pool["negatives"], negative_count))])
            loss = F.binary_cross_entropy_with_logits(self.critic.forward_mel(mels.to(device).float()), labels)
            clipped_step(self.optimizer, loss, self.critic.parameters(), config.grad_clip)
        self.critic.eval()
        after = mel_probabilities(self.critic, latest)
        values = ((before < 0.5).float().mean(), (after < 0.5).float().mean(), before.mean(), after.mean(),
                  mel_probabilities(self.critic, pool["real"][:REAL_CHECK]).mean())
        return {**{name: float(value) for name, value in zip(REPORTED, values, strict=True)},
                "critic_refresh_s": time.perf_counter() - started}

    def state_dict(self) -> dict:
        """The refreshed critic, its optimizer and the buffered policy log-mels."""
        return {"critic": self.critic.state_dict(), "optimizer": self.optimizer.state_dict(),
                "policy": list(self.policy_mels)}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` saved."""
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.policy_mels.extend(mels.cpu() for mels in state["policy"])

    def export(self, folder: Path, history: Sequence[dict]) -> Path:
        """Save the refreshed critic (a critic folder, `load_critic` reads it) with a short card."""
        return save_critic(folder, self.critic.eval(), self.card(history))

    def card(self, history: Sequence[dict]) -> str:
        """The refreshed critic's card: where it came from, how it was refreshed, the refreshes' reports."""
        config = self.config
        rows = [row for row in history if REPORTED[0] in row]
        intro = [f"The audio critic `{config.critic or default_critic_folder()}` refreshed during the GRPO run "
                 f"`{config.run_dir}` (reward `{config.reward}`) on the tuned policy's samples (see docs/grpo.md)."]
        training = [f"- every {config.refresh_critic_every} iteration(s), {config.refresh_critic_steps} AdamW steps at "
                    f"learning rate {config.refresh_critic_lr}, batches of {config.refresh_critic_batch} crops",
                    f"- real: {config.refresh_real_crops} crops of the training split; fake: the policy's samples of "
                    f"the last {config.refresh_window} iteration(s) and the critic's training negatives",
                    f"- refreshes: {len(rows)}"]
        results = markdown_table(("iteration", *REPORTED),
                                 [(row["iteration"], *(f"{row[name]:.3f}" for name in REPORTED)) for row in rows[-10:]])
        return render_card("Encore audio critic, refreshed during GRPO", intro,
                           {"Refresh": training, "Last refreshes": results})
