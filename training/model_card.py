"""Model cards written beside exported checkpoints."""

from __future__ import annotations

import json
from typing import Any

LICENSES = {
    "pop909": "POP909 (MIT; Wang, Chen et al., ISMIR 2020)",
    "piano_midi_de": "piano-midi.de by Bernd Krueger (CC BY-SA 3.0 DE)",
    "asap": "ASAP (CC BY-NC-SA 4.0: NON-COMMERCIAL; Foscarin et al., ISMIR 2020)",
}


def piano_card(config: Any, metrics: dict, manifest: dict) -> str:
    """Markdown card for a pretrained piano checkpoint."""
    sources = [s for s in LICENSES if s in str(manifest["config"].get("sources", ""))]
    lines = [
        "# Encore piano transformer (Phi-3, REMI+)",
        "",
        f"Architecture: Phi-3, preset `{config.preset}` (see config.json); tokenizer: tokenizer.json (MidiTok REMI+).",
        "Weights: fp16 safetensors.",
        "",
        "## Data",
        *[f"- {LICENSES[s]}" for s in sources],
        "",
        "Prepared by `encore data piano` (GM piano programs 0-7 merged, duplicates dropped, POP909 time",
        "signatures from its index, files with >300 notes in a bar or >20% empty bars dropped; split by piece).",
        "",
        "| split | files | pieces | tokens | hours |",
        "|---|---|---|---|---|",
        *[f"| {name} | {s['files']} | {s['pieces']} | {s['tokens']} | {s['hours']} |" for name, s in manifest["splits"].items()],
        "",
        "## Training",
        f"- steps: {metrics['steps']} x batch {config.batch_size} x crop {config.crop} tokens "
        f"({metrics['train_tokens_seen']:,} training tokens seen)",
        f"- optimizer: AdamW lr {config.lr}, warm-up {config.warmup_steps}, cosine to {config.min_lr_ratio} x lr, "
        f"weight decay {config.weight_decay}, clip {config.grad_clip}",
        f"- wall time: {metrics['wall_minutes']} min on {config.device}",
        "",
        "## Held-out loss (nats per token, PAD excluded)",
        f"- validation: {metrics['validation_loss']:.4f}",
        f"- test: {metrics['test_loss']:.4f}",
        f"- unigram baseline on test: {metrics['unigram_test_loss']:.4f}",
        "",
        "```json",
        json.dumps(metrics, indent=2),
        "```",
    ]
    if "asap" in sources:
        lines.insert(2, "**Trained with ASAP: non-commercial use only (CC BY-NC-SA 4.0).**\n")
    return "\n".join(lines) + "\n"
