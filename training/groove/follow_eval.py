"""How closely follow-piano drums follow the piano's rhythm (`python -m encore.training.groove.follow_eval`).

The piano plays a figure for two bars; the drum voice's tap (`encore.engine.voices.drums.tap_groove`)
turns it into the groove input, and each option decodes one drum window per seed (`SEEDS` of them). The
measure is the phi correlation of the drums' onset steps (32 flags: any drum struck on the 16th step)
with the figure's, and with straight eighths', averaged over the seeds.

Options (the issue's three candidates and the lock the drum voice now uses):

- `prior`: `drumify(tap)`, the score latent from the prior (follow-piano before the lock);
- `rerank`: `RERANK` prior samples, keeping the one whose onsets correlate best with the tap;
- `readback` (aux, aux11): `READBACK` score latents from the prior, each read back by the auxiliary score
  decoders; the one whose onset probabilities correlate best with the tap is decoded with the tap's
  groove latent;
- `kick` (aux11): the tap's hits given as the kick pattern beside the groove;
- `lock`: `drumify(tap, lock_to_groove=True)`, hits only on tapped steps (follow-piano now).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from encore.engine.voices.drums import tap_groove
from encore.models.groove.grid import WINDOW_STEPS, DrumLoop
from encore.models.groove.model import GrooveModel
from encore.models.notes import NoteEvent
from encore.training.groove.eval import write_results

SEEDS = 16
RERANK = 8
READBACK = 32
#: One bar of each figure, onsets in beats: 3-3-2 on 16ths (per half bar) and on eighths (per bar).
FIGURES: dict[str, tuple[float, ...]] = {
    "3-3-2 sixteenths": (0.0, 0.75, 1.5, 2.0, 2.75, 3.5),
    "3-3-2 eighths": (0.0, 1.5, 3.0),
}
STRAIGHT_EIGHTHS = (np.arange(WINDOW_STEPS) % 2 == 0).astype(np.float32)


def phi(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 0/1 step vectors (0 when either is constant)."""
    a, b = np.asarray(a) > 0.5, np.asarray(b) > 0.5
    if a.all() or not a.any() or b.all() or not b.any():
        return 0.0
    return float(np.corrcoef(a.astype(float), b.astype(float))[0, 1])


def figure_groove(bar: tuple[float, ...]) -> np.ndarray:
    """The tapped (32, 3) groove of a figure played for two bars, accented on the downbeat."""
    notes = [NoteEvent(start + beat, 60, 100 if beat == 0 else 85, 0.25) for start in (0.0, 4.0) for beat in bar]
    return tap_groove(notes, 0.0)


def onsets(loop: DrumLoop) -> np.ndarray:
    """32 flags: steps where any drum strikes."""
    return loop.hits.max(axis=1)


def best_of(loops: list[DrumLoop], tapped: np.ndarray) -> DrumLoop:
    """The loop whose onsets correlate best with the tap."""
    return max(loops, key=lambda loop: phi(onsets(loop), tapped))


@torch.no_grad()
def readback_choice(model: GrooveModel, groove: np.ndarray, seed: int) -> DrumLoop:
    """Pick the score latent whose auxiliary read-back best matches the tap, then decode it once."""
    vae, generator = model.vae, torch.Generator().manual_seed(seed)
    sizes = {slot.name: slot.size for slot in vae.config.slots}
    others = [name for name in model.input_names if name != "groove"]
    z = {name: torch.randn(READBACK, sizes[name], generator=generator) for name in others}
    hits = torch.cat([torch.sigmoid(vae.aux_decoders[name](z[name])) for name in others], dim=-1)
    struck = 1 - torch.prod(1 - hits, dim=-1)  # P(any drum) per step, (READBACK, 32)
    best = int(np.argmax([np.corrcoef(row, groove[:, 0])[0, 1] for row in struck.numpy()]))
    chosen = {name: value[best : best + 1] for name, value in z.items()}
    chosen["groove"] = vae.encode({"groove": torch.from_numpy(groove)[None]})["groove"].sample(1.0, generator)
    decoded = vae.decoder.generate(vae.joined(chosen), vae.config.steps)
    played = decoded.hits[0]
    return DrumLoop(played.numpy(), (decoded.velocities[0] * played).numpy(), (decoded.offsets[0] * played).numpy())


def options(model: GrooveModel) -> dict[str, Callable[[np.ndarray, int], DrumLoop]]:
    """The options that apply to a model, each (groove, seed) -> one drum window."""
    found: dict[str, Callable[[np.ndarray, int], DrumLoop]] = {
        "prior": lambda groove, seed: model.drumify(groove, seed=seed)[0],
        "rerank": lambda groove, seed: best_of(model.drumify(groove, samples=RERANK, seed=seed), groove[:, 0]),
    }
    if model.config.has_aux:
        found["readback"] = lambda groove, seed: readback_choice(model, groove, seed)
    if "kick" in model.input_names:
        found["kick"] = lambda groove, seed: model.generate({"groove": groove, "kick": groove[:, :1].copy()}, seed=seed)[0]
    found["lock"] = lambda groove, seed: model.drumify(groove, seed=seed, lock_to_groove=True)[0]
    return found


def evaluate(models: list[str]) -> dict:
    """Per model, option and figure: mean phi with the figure and with straight eighths, mean onsets."""
    torch.set_num_threads(1)
    results: dict = {"seeds": SEEDS, "figures": {name: list(bar) for name, bar in FIGURES.items()}, "models": {}}
    for name in models:
        model = GrooveModel.load(name)
        rows: dict = {}
        for option, decode in options(model).items():
            for figure, bar in FIGURES.items():
                groove = figure_groove(bar)
                found = [onsets(decode(groove, seed)) for seed in range(SEEDS)]
                rows.setdefault(option, {})[figure] = {
                    "phi_figure": float(np.mean([phi(f, groove[:, 0]) for f in found])),
                    "phi_straight_eighths": float(np.mean([phi(f, STRAIGHT_EIGHTHS) for f in found])),
                    "onsets": float(np.mean([f.sum() for f in found])),
                }
        results["models"][name] = rows
    return results


def format_report(results: dict) -> str:
    """A Markdown table: phi with the figure / with straight eighths per model, option and figure."""
    figures = list(results["figures"])
    lines = ["| model | option | " + " | ".join(f"{f}: figure / eighths (onsets)" for f in figures) + " |",
             "|---|---|" + "---|" * len(figures)]
    for name, rows in results["models"].items():
        for option, row in rows.items():
            cells = [f"{row[f]['phi_figure']:.2f} / {row[f]['phi_straight_eighths']:.2f} ({row[f]['onsets']:.1f})" for f in figures]
            lines.append(f"| {name} | {option} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: `python -m encore.training.groove.follow_eval [--models ...] [--out FILE]`; `--out`
    sets the `follow` key of an existing results file (docs/groove-eval.json) and keeps the rest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["factorized", "aux", "aux11"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = evaluate(args.models)
    print(format_report(results))
    if args.out:
        write_results(args.out, {"follow": results})


if __name__ == "__main__":
    main()
