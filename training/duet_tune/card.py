"""The model card of a duet GRPO export: rewards and weights, iterations, wall time, hardware, held-out loss."""

from __future__ import annotations

import json
from dataclasses import asdict

from encore.training.duet_tune.grpo_config import DuetGrpoConfig


def grpo_duet_card(config: DuetGrpoConfig, metrics: dict) -> str:
    """Markdown card for `run_dir/export/README.md`."""
    weights = ", ".join(f"{name} {weight:g}" for name, weight in metrics["weights"].items())
    settings = {k: str(v) for k, v in asdict(config).items() if k != "reward"}
    return "\n".join([
        "# Encore piano transformer, duet GRPO (issue 25)", "",
        f"`{config.checkpoint}` tuned by `encore train duet-grpo` (training/duet_tune/, docs/duet.md): POP909 training "
        f"windows of {config.bars} bars after {config.seed_bars} seed bars, the melody laid in through the engine's duet "
        "code path (models/piano/duet.py), rewards that can be checked (no annotated chords), the GRPO core's loss "
        "with a k3 KL to the base. Weights: fp16 safetensors; tokenizer: tokenizer.json.", "",
        f"- rewards and weights: {weights} (reward settings: {json.dumps(asdict(config.reward))})",
        f"- iterations: {metrics['iterations']} of {config.iterations} x {config.songs_per_iteration} windows x "
        f"{config.group_size} rollouts; stopped early: {metrics['stopped_early'] or 'no'}",
        f"- learning rate {config.learning_rate}, temperature {config.temperature}, clip {config.clip_epsilon}, "
        f"beta {config.beta}",
        f"- wall time: {metrics['wall_minutes']:.1f} min on {metrics['hardware']}", "",
        "| measure | value |", "|---|---|",
        f"| reward, first iteration | {metrics['reward_first']:.4f} |",
        f"| reward, last iteration | {metrics['reward_last']:.4f} |",
        f"| KL to the base, last iteration | {metrics['kl_last']:.5f} |",
        f"| held-out loss of real accompaniments, base (nats/token) | {metrics['held_out_base']:.4f} |",
        f"| held-out loss of real accompaniments, tuned | {metrics['held_out_tuned']:.4f} |", "",
        "```json", json.dumps({"metrics": metrics, "settings": settings}, indent=2), "```", ""])
