"""Model cards written beside exported checkpoints: one renderer, one training section, a card per family.

Every card has the same shape: a title, a few lines on the model and weights, then `## Data`,
`## Training` (written from the shared `TrainerConfig` fields, so both trainers describe their run in
the same words) and `## Held-out loss`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from encore.training.config import TrainerConfig

LICENSES = {
    "pop909": "POP909 (MIT; Wang, Chen et al., ISMIR 2020)",
    "piano_midi_de": "piano-midi.de by Bernd Krueger (CC BY-SA 3.0 DE)",
    "asap": "ASAP (CC BY-NC-SA 4.0: NON-COMMERCIAL; Foscarin et al., ISMIR 2020)",
    "giantmidi_eval": "GiantMIDI-Piano, the files in its repository (CC BY 4.0; Kong et al., TISMIR 2022)",
    "openscore_lieder": "OpenScore Lieder Corpus (CC0 1.0; Gotham & Jonas, 2022), read with music21",
    "pianolatron": "Stanford piano rolls via Pianolatron (license unclear: treated as NON-COMMERCIAL)",
}
NON_COMMERCIAL = ("asap", "pianolatron")

GMD_CREDIT = ("GMD is licensed CC BY 4.0 by Jon Gillick, Adam Roberts, Jesse Engel, Douglas Eck and David Bamman, "
              '"Learning to Groove with Inverse Sequence Transformations", ICML 2019. These weights are derived from it.')


def render_card(title: str, intro: Sequence[str], sections: Mapping[str, Sequence[str]]) -> str:
    """Markdown card: `# title`, the intro lines, then one `## heading` per section."""
    lines = [f"# {title}", "", *intro]
    for heading, body in sections.items():
        lines += ["", f"## {heading}", "", *body]
    return "\n".join(lines) + "\n"


def training_section(config: TrainerConfig, *, optimizer: str, steps: int, seen: str, wall_minutes: float,
                     hardware: str) -> list[str]:
    """The `## Training` lines of any trainer's card, from the shared config fields."""
    warmup = f"warm-up {config.warmup_steps} steps, " if config.warmup_steps else ""
    return [
        f"- steps: {steps} x batch {config.batch_size} ({seen})",
        f"- optimizer: {optimizer}, learning rate {config.learning_rate}, {warmup}cosine decay to "
        f"{config.min_lr_ratio} x, gradient clipping at {config.grad_clip}",
        f"- wall time: {wall_minutes:.1f} min on {hardware}",
    ]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table as lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]]


def piano_card(config: Any, metrics: dict, manifest: dict, hardware: str) -> str:
    """Card for a pretrained piano checkpoint (`config` is a `PianoTrainerConfig`)."""
    sources = [s for s in LICENSES if s in str(manifest["config"].get("sources", ""))]
    intro = [
        f"Architecture: Phi-3, preset `{config.preset}` (see config.json); tokenizer: tokenizer.json (MidiTok REMI+).",
        "Weights: fp16 safetensors.",
    ]
    restricted = [s for s in sources if s in NON_COMMERCIAL]
    if restricted:
        intro = [f"**Trained with {' and '.join(restricted)}: non-commercial use only.**", "", *intro]
    data = [
        *[f"- {LICENSES[s]}" for s in sources],
        "",
        "Prepared by `encore data piano` (GM piano programs 0-7 merged, duplicates dropped, POP909 time",
        "signatures from its index, files with >300 notes in a bar or >20% empty bars dropped; split by piece).",
        *_roles_lines(manifest, config),
        "",
        *markdown_table(("split", "files", "pieces", "tokens", "hours"),
                        [(name, s["files"], s["pieces"], s["tokens"], s["hours"]) for name, s in manifest["splits"].items()]),
    ]
    training = training_section(
        config, optimizer=f"AdamW (weight decay {config.weight_decay})", steps=metrics["steps"],
        seen=f"crop {config.crop} tokens (context {config.context_length}), "
             f"{metrics['train_tokens_seen']:,} training tokens seen",
        wall_minutes=metrics["wall_minutes"], hardware=hardware,
    )
    held_out = [
        "Nats per token, PAD excluded.",
        "",
        f"- validation: {metrics['validation_loss']:.4f}",
        f"- test: {metrics['test_loss']:.4f}",
        f"- unigram baseline on test: {metrics['unigram_test_loss']:.4f}",
        "",
        "```json",
        json.dumps(metrics, indent=2),
        "```",
    ]
    return render_card("Encore piano transformer (Phi-3, REMI+)", intro,
                       {"Data": data, "Training": training, "Held-out loss": held_out})


def _roles_lines(manifest: dict, config: Any) -> list[str]:
    """What a v2 preparation and run add: the performer's part marked, styles, augmentation."""
    lines = []
    if manifest["config"].get("roles"):
        marked = sum(split.get("marked", 0) for split in manifest["splits"].values())
        lines += ["", f"v2 layout: in {marked} files (half of those with a melody or voice part, fixed by a hash) that part",
                  "is marked as the performer's (`Performer_None` before each of its notes, first at its position);",
                  "each file's style (pop / score / performance) is kept for the token after BOS."]
    if getattr(config, "augment", False):
        lines += ["", "Augmented on the fly: transposition up to 6 semitones either way (in the piano's range), tempo",
                  "and velocity shifted up to 2 bins, crops opened with BOS and the style token 75% / 80% of the time."]
    return lines


def groove_card(config: Any, training: dict, counts: dict[str, int], device: str = "cpu") -> str:
    """Card for a groove VAE checkpoint (`config` is a `GrooveTrainerConfig`; `device` the one it trained on)."""
    intro = [
        f"Groove VAE `{config.model}` of Encore (see `docs/groove.md` and `models/groove/vae.py`), 2-bar 4/4 drum",
        "loops on a 16th-note grid, 9 drum classes.",
        "",
        f"Weights: fp16 safetensors, {training['parameters']} parameters.",
    ]
    data = [
        "- Groove MIDI Dataset v1.0.0 (Magenta), 4/4 files, official split, two-bar windows with a one-bar hop: "
        f"{counts['train']} train / {counts['validation']} validation / {counts['test']} test windows.",
        f"- {GMD_CREDIT}",
    ]
    threads = f"{config.threads} CPU thread{'s' if config.threads != 1 else ''}" if config.threads else "CPU"
    train_lines = training_section(
        config, optimizer="Adam", steps=training["steps"], seen=f"{training['windows_seen']} windows seen",
        wall_minutes=training["wall_minutes"], hardware=threads if device == "cpu" else device,
    )
    options = ", ".join(f"`{name}={value}`" for name, value in config.model_options.items())
    train_lines.append(f"- setup `{config.setup}`" + (f", model options {options}" if options else ""))
    held = training["held_out"]
    offsets = f"{training.get('offset_weight', 1):g} x the offset squared error"
    held_out = [
        f"Per window, teacher forced; recon = hit cross-entropy + {training['value_weight']:g} x (the velocity squared "
        f"error + {offsets}) on hits, summed over the window; kl in nats over all latents; hit_acc over all 288 cells.",
        "",
        *markdown_table(("split", "loss", "recon", "kl", "aux", "hit_acc"), [
            (split, f"{held[split]['loss']:.2f}", f"{held[split]['recon']:.2f}", f"{held[split]['kl']:.2f}",
             f"{held[split]['aux']:.2f}", f"{held[split]['hit_acc']:.4f}") for split in ("validation", "test")
        ]),
    ]
    return render_card(f"groove-{config.model}", intro, {"Data": data, "Training": train_lines, "Held-out loss": held_out})
