"""Model cards of a GRPO-tuned checkpoint and of an audio critic, through the shared card renderer."""

from __future__ import annotations

import json
from typing import Any

from encore.training.model_card import markdown_table, render_card


def grpo_card(config: Any, metrics: dict, hardware: str) -> str:
    """Card for a GRPO-tuned piano checkpoint (`config` is a `GrpoConfig`)."""
    intro = [f"The piano transformer `{config.checkpoint}` tuned with GRPO (see docs/grpo.md) on the reward "
             f"`{metrics['reward']}`.", "Weights: fp16 safetensors; tokenizer: tokenizer.json (MidiTok REMI+)."]
    data = [f"- prompts: {config.prompts} (procedural `BOS Bar TimeSig Position_0 Tempo`, tempo "
            f"{config.tempo_range[0]:g}-{config.tempo_range[1]:g} bpm; from the split: {config.prompt_tokens} tokens "
            "from a Bar of the training split)",
            f"- rendering: {config.soundfont.name}, {config.sample_rate} Hz mono, {config.crop_s:g} s crops"]
    training = [
        f"- iterations: {metrics['iterations']} x {config.batch_size} prompts x {config.group_size} completions of "
        f"{config.max_new_tokens} tokens, temperature {config.temperature}",
        f"- optimizer: AdamW, learning rate {config.learning_rate} decaying linearly to "
        f"{config.min_lr_ratio} x over {config.steps} iterations, {config.inner_updates} update(s) per iteration, "
        f"clip epsilon {config.clip_epsilon}, KL (k3) beta {config.beta}, gradient clipping at {config.grad_clip}",
        f"- wall time: {metrics['wall_minutes']:.1f} min on {hardware}",
    ]
    rows = [("reward, first iterations", metrics.get("reward_first", "—")),
            ("reward, last iterations", metrics.get("reward_last", "—")),
            ("KL to the base, last iteration", metrics.get("kl_last", "—"))]
    rows += [(f"{split} loss, {model} (nats/token)", metrics[f"{split}_loss_{model}"])
             for split in ("validation", "test") for model in ("base", "tuned") if f"{split}_loss_{model}" in metrics]
    results = [*markdown_table(("measure", "value"), [(name, f"{v:.4f}" if isinstance(v, float) else v)
                                                      for name, v in rows]),
               "", "```json", json.dumps(metrics, indent=2), "```"]
    return render_card("Encore piano transformer, GRPO-tuned", intro,
                       {"Data": data, "Training": training, "Results": results})


def critic_card(config: Any, metrics: dict, hardware: str) -> str:
    """Card for an audio critic (`config` is a `CriticTrainerConfig`)."""
    intro = ["Audio critic of Encore's GRPO (`encore.training.grpo.critic`): a small CNN on log-mel spectrograms,",
             "trained to tell rendered real piano from rendered base-model samples; the `critic` reward is its P(real)."]
    data = [f"- real: {config.real_examples} random {config.crop_s:g} s crops of the training split, "
            f"{config.held_out_examples} of the validation split held out",
            f"- fake: as many samples of `{config.checkpoint}` ({config.max_new_tokens} new tokens, temperature 1, "
            "half procedural prompts, half cut from the training split), fresh ones held out",
            f"- rendering: {config.soundfont.name}, {config.sample_rate} Hz mono"]
    training = [f"- steps: {metrics['steps']} x batch {config.batch_size}",
                "- level: " + ("invariant (each crop's loudest log-mel bin set to 0)" if config.level_invariant
                               else "heard (louder crops can score differently)"),
                f"- optimizer: AdamW, learning rate {config.learning_rate}, cosine decay to {config.min_lr_ratio} x",
                f"- wall time: {metrics['wall_minutes']:.1f} min on {hardware}"]
    sanity = metrics["sanity"]
    held_out = [f"Held-out accuracy (threshold 0.5): {metrics['held_out_accuracy']:.3f}", "",
                "Sanity ranking, mean P(real) (expected order: real > base samples > silence, white noise):", "",
                *markdown_table(("audio", "mean P(real)"), [(k, f"{v:.3f}") for k, v in sanity.items()]),
                "", f"Ranking as expected: {metrics['ranking_as_expected']}"]
    return render_card("Encore audio critic", intro, {"Data": data, "Training": training, "Held-out": held_out})
