"""Reproduce the tables of the groove papers on the GMD test split (`encore groove eval`).

Run as `python -m encore.training.groove.eval` or `encore groove eval [--models ...] [--out results.json]`.
Every model is the shipped checkpoint of its kind unless a folder is given. All measures use the
two-bar test windows of `encore.training.groove.data`; offsets are in 16th notes.

- Reconstruction: every input of the window is encoded, latents are the posterior means. Hits are decoded
  freely (accuracy over all 288 cells and F1 of the hit class); velocities and offsets are decoded with the
  true hits forced, and their mean absolute errors are taken on the true hits (velocity in MIDI units).
- Auxiliary read-back (aux, aux11): each input decoded by its auxiliary decoder from its own latent's
  posterior mean; hit accuracy of the score inputs, and of the groove its hits, velocity and offset errors.
- Table 1, diversity (Humanize): each window's score is humanized 5 times with its hits kept, latents drawn
  at temperature 1 (the score latent from its posterior, the groove latent from the prior, fresh each run).
  Per window, the standard deviation of the offset of each hit across the 5 runs is averaged over the
  score's hits; the table gives the mean over windows. The baseline is also run at higher temperatures.
- Table 2, fidelity: every test score is played with one fixed groove whose hits are the score's hit steps,
  velocity the test set's mean groove velocity, offset 0 on even (on-beat) 16ths and -0.05, -0.2 or -0.4 on
  odd (off-beat) 16ths. The table gives mean and standard deviation of the generated offsets of every hit
  on an odd step. A second reading (`fidelity_shifted`) keeps each window's own groove, as the drummer
  played it, and moves its off-beat hits by the shift (clipped to half a step; the clipped fraction is
  reported), so the data's own timing stays in the input.

Units. Our offsets are fractions of a 16th, late positive. Magenta's GrooVAE code, on which the papers'
models are built, stores offsets in its tensors as twice that with early positive (`GrooveConverter`:
`(quantized - true) / step * 2`, [-0.5, 0.5] of a step scaled to [-1, 1]). Read in those units
(`PAPER_UNITS`: paper value = -2 x ours), a Table 2 groove of -0.2 delays the off-beats by 0.1 of a 16th,
i.e. it swings them, and every diversity is twice our number. The results hold both readings:
`diversity` and `fidelity` in our units (the groove's offsets as early 16th fractions, as before), and
`diversity_paper_units` and `fidelity_paper_units` (grooves and results converted).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from encore.models.groove.config import MODEL_KINDS
from encore.models.groove.features import groove as groove_of
from encore.models.groove.model import GrooveModel
from encore.models.groove.vae import aux_readout
from encore.training.groove.data import load_windows

RUNS = 5
BASELINE_TEMPERATURES = (1.0, 2.0, 4.0)
FIDELITY_OFFSETS = (-0.05, -0.2, -0.4)
#: A paper value is this times ours (see module docstring, "Units").
PAPER_UNITS = -2.0
CHUNK = 512
PAPER = {
    "diversity": {"baseline": 0.061, "factorized": 0.200, "aux": 0.222},
    "fidelity": {-0.05: -0.091, -0.2: -0.214, -0.4: -0.366},
}


def _decode(model: GrooveModel, inputs: dict[str, np.ndarray], forced: np.ndarray | None, temperature: float, seed: int) -> tuple[np.ndarray, ...]:
    """`GrooveModel.decode_batch` over chunks of the test set."""
    count = next(iter(inputs.values())).shape[0]
    parts = []
    for start in range(0, count, CHUNK):
        window = slice(start, start + CHUNK)
        chunk = {name: value[window] for name, value in inputs.items()}
        size = next(iter(chunk.values())).shape[0]
        parts.append(model.decode_batch(chunk, size, temperature, None if forced is None else forced[window], seed + start))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def reconstruction(model: GrooveModel, hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray, seed: int) -> dict[str, float]:
    """Hit accuracy and F1 (free decoding), velocity and offset MAE on true hits (hits forced)."""
    tensors = [torch.from_numpy(a) for a in (hits, velocities, offsets)]
    inputs = {name: value.numpy() for name, value in model.vae.inputs(*tensors).items()}
    predicted, _, _ = _decode(model, inputs, None, 0.0, seed)
    _, velocity, offset = _decode(model, inputs, hits, 0.0, seed)
    true_hit = hits > 0.5
    hit = predicted > 0.5
    tp = float((hit & true_hit).sum())
    return {
        "hit_accuracy": float((hit == true_hit).mean()),
        "hit_f1": 2 * tp / max(1.0, float(hit.sum() + true_hit.sum())),
        "velocity_mae_midi": float(np.abs(velocity - velocities)[true_hit].mean() * 127),
        "offset_mae": float(np.abs(offset - offsets)[true_hit].mean()),
    }


@torch.no_grad()
def readback(model: GrooveModel, hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray) -> dict[str, float]:
    """How well the auxiliary decoders read each input back from its own latent (posterior mean): hit
    accuracy of every score-like input, and the groove's velocity (MIDI units) and offset MAE on its hits."""
    inputs = model.vae.inputs(*(torch.from_numpy(a) for a in (hits, velocities, offsets)))
    z = {name: posterior.mean for name, posterior in model.vae.encode(inputs).items()}
    read = {name: aux_readout(name, raw) for name, raw in model.vae.auxiliary(z).items()}
    groove, seen = inputs["groove"].numpy(), read["groove"].numpy()
    struck = groove[..., 0] > 0.5
    scores = [((read[n] > 0.5).numpy() == (inputs[n] > 0.5).numpy()).mean() for n in read if n != "groove"]
    return {
        "score_hit_accuracy": float(np.mean(scores)),
        "groove_hit_accuracy": float(((seen[..., 0] > 0.5) == struck).mean()),
        "groove_velocity_mae_midi": float(np.abs(seen[..., 1] - groove[..., 1])[struck].mean() * 127),
        "groove_offset_mae": float(np.abs(seen[..., 2] - groove[..., 2])[struck].mean()),
    }


def diversity(model: GrooveModel, hits: np.ndarray, offsets: np.ndarray, temperature: float, seed: int) -> dict[str, float]:
    """Table 1 measure (see module docstring), plus the mean absolute difference of the generated offsets
    from the drummer's real ones (`offset_mae_to_real`), to show what the diversity costs."""
    inputs = model.score_inputs(hits)
    runs = np.stack([_decode(model, inputs, hits, temperature, seed + 7919 * run)[2] for run in range(RUNS)])
    spread = runs.std(axis=0)
    mask = hits > 0.5
    per_window = (spread * mask).sum(axis=(1, 2)) / np.maximum(mask.sum(axis=(1, 2)), 1)
    error = np.abs(runs - offsets[None])[:, mask].mean()
    value = float(per_window[mask.any(axis=(1, 2))].mean())
    return {"diversity": value, "diversity_paper_units": abs(PAPER_UNITS) * value, "offset_mae_to_real": float(error)}


def synthetic_groove(hits: np.ndarray, velocity: float, offset: float) -> np.ndarray:
    """Table 2's groove (see module docstring): the score's hit steps at one velocity, on-beats at 0 and
    off-beats at `offset`; (windows, 32, 3)."""
    steps = np.arange(hits.shape[1])
    struck = (hits > 0.5).any(axis=-1).astype(np.float32)
    return np.stack([struck, struck * velocity, struck * np.where(steps % 2 == 1, offset, 0.0)[None, :]], axis=-1).astype(np.float32)


def shifted_groove(grooves: np.ndarray, offset: float) -> tuple[np.ndarray, float]:
    """The drummers' own grooves with every off-beat hit moved by `offset`, clipped to half a step (the
    grid's range); also the fraction of off-beat hits the clipping caught."""
    off_beat = (grooves[..., 0] > 0.5) & (np.arange(grooves.shape[1]) % 2 == 1)[None, :]
    moved = grooves[..., 2] + offset
    shifted = grooves.copy()
    shifted[..., 2] = np.where(off_beat, np.clip(moved, -0.5, 0.5), grooves[..., 2])
    return shifted, float((np.abs(moved) > 0.5)[off_beat].mean())


def fidelity(model: GrooveModel, hits: np.ndarray, groove: np.ndarray, seed: int) -> dict[str, float]:
    """Table 2 measure for one groove (see module docstring): mean and spread of the generated offsets of
    the hits on off-beat steps, and the mean on the on-beats."""
    steps = np.arange(hits.shape[1])
    inputs = {**model.score_inputs(hits), "groove": groove}
    _, _, generated = _decode(model, inputs, hits, 1.0, seed)
    odd = (hits > 0.5) & (steps % 2 == 1)[None, :, None]
    even = (hits > 0.5) & (steps % 2 == 0)[None, :, None]
    return {"mean": float(generated[odd].mean()), "std": float(generated[odd].std()), "on_beat_mean": float(generated[even].mean())}


def in_paper_units(row: dict[str, float]) -> dict[str, float]:
    """A fidelity row read in Magenta's units: offsets scaled and flipped, spreads scaled, fractions kept."""
    scale = {"std": abs(PAPER_UNITS), "clipped": 1.0}
    return {key: scale.get(key, PAPER_UNITS) * value for key, value in row.items()}


def fidelity_rows(model: GrooveModel, hits: np.ndarray, grooves: np.ndarray, velocity: float, seed: int) -> dict[str, dict]:
    """Table 2 in both readings of the groove: the fixed synthetic groove (`fidelity`, `fidelity_paper_units`)
    and the drummers' grooves shifted (`fidelity_shifted`, `fidelity_shifted_paper_units`). The paper's
    shifts are given in its units, so in ours they are divided by `PAPER_UNITS`."""
    rows: dict[str, dict] = {"fidelity": {}, "fidelity_paper_units": {}, "fidelity_shifted": {}, "fidelity_shifted_paper_units": {}}
    for offset in FIDELITY_OFFSETS:
        rows["fidelity"][str(offset)] = fidelity(model, hits, synthetic_groove(hits, velocity, offset), seed)
        paper = fidelity(model, hits, synthetic_groove(hits, velocity, offset / PAPER_UNITS), seed)
        rows["fidelity_paper_units"][str(offset)] = in_paper_units(paper)
        for key, shift in (("fidelity_shifted", offset), ("fidelity_shifted_paper_units", offset / PAPER_UNITS)):
            groove, clipped = shifted_groove(grooves, shift)
            row = {**fidelity(model, hits, groove, seed), "clipped": clipped}
            rows[key][str(offset)] = row if key == "fidelity_shifted" else in_paper_units(row)
    return rows


def evaluate(models: list[str], data_root: Path | None = None, limit: int | None = None, seed: int = 0) -> dict:
    """All measures for every model (see module docstring).

    Args:
        models: shipped kinds (`aux`) or checkpoint folders.
        data_root: folder holding `groove/`.
        limit: use only the first `limit` test windows.
        seed: base random seed.

    Returns:
        JSON-ready results: window count, then per model `reconstruction`, `diversity` and `fidelity`.
    """
    torch.set_num_threads(1)
    test = load_windows(data_root)[0]["test"]
    part = slice(0, limit)
    hits, velocities, offsets = (np.asarray(a[part], np.float32) for a in (test.hits, test.velocities, test.offsets))
    grooves = groove_of(*(torch.from_numpy(a) for a in (hits, velocities, offsets))).numpy()
    mean_velocity = float(grooves[..., 1][grooves[..., 0] > 0.5].mean())
    results: dict = {"test_windows": int(hits.shape[0]), "groove_velocity": mean_velocity, "models": {}}
    for name in models:
        model = GrooveModel.load(name)
        row: dict = {"kind": model.kind, "reconstruction": reconstruction(model, hits, velocities, offsets, seed)}
        temperatures = BASELINE_TEMPERATURES if model.kind == "baseline" else (1.0,)
        row["diversity"] = {str(t): diversity(model, hits, offsets, t, seed) for t in temperatures}
        if model.config.has_aux:
            row["readback"] = readback(model, hits, velocities, offsets)
        if "groove" in model.input_names:
            row.update(fidelity_rows(model, hits, grooves, mean_velocity, seed))
        results["models"][name] = row
    return results


def format_report(results: dict) -> str:
    """Markdown tables of `evaluate`'s results beside the papers' numbers."""
    models = results["models"]
    lines = [f"GMD test split: {results['test_windows']} two-bar windows", "", "Table 1, diversity (mean std of offsets over 5 humanizations)", "", "| model | temperature | ours | paper | offset MAE to the real take |", "|---|---|---|---|---|"]
    for name, row in models.items():
        for temperature, value in row["diversity"].items():
            paper = PAPER["diversity"].get(row["kind"]) if temperature == "1.0" else None
            cells = f"{value['diversity']:.3f} | {'' if paper is None else f'{paper:.3f}'} | {value['offset_mae_to_real']:.3f}"
            lines.append(f"| {name} | {temperature} | {cells} |")
    lines += ["", "Table 2, fidelity (generated off-beat offsets: mean ± std; paper means in brackets)", ""]
    header = [o for o in FIDELITY_OFFSETS]
    lines.append("| model | " + " | ".join(f"groove {o} (paper {PAPER['fidelity'][o]})" for o in header) + " |")
    lines.append("|---" * (len(header) + 1) + "|")
    for name, row in models.items():
        if "fidelity" in row:
            cells = [f"{row['fidelity'][str(o)]['mean']:.3f} ± {row['fidelity'][str(o)]['std']:.3f}" for o in header]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Both tables in paper units (Magenta's tensors: twice our offsets, early positive)", ""]
    lines.append("| model | diversity | " + " | ".join(f"groove {o} (paper {PAPER['fidelity'][o]})" for o in header) + " |")
    lines.append("|---" * (len(header) + 2) + "|")
    for name, row in models.items():
        diversity_cell = f"{row['diversity']['1.0']['diversity_paper_units']:.3f}"
        cells = [f"{row['fidelity_paper_units'][str(o)]['mean']:.3f} ± {row['fidelity_paper_units'][str(o)]['std']:.3f}"
                 if "fidelity_paper_units" in row else "" for o in header]
        lines.append(f"| {name} | {diversity_cell} | " + " | ".join(cells) + " |")
    lines += ["", "Table 2 with the drummers' grooves shifted (our units, then paper units; clipped fraction in brackets)", ""]
    lines.append("| model | reading | " + " | ".join(f"groove {o} (paper {PAPER['fidelity'][o]})" for o in header) + " |")
    lines.append("|---" * (len(header) + 2) + "|")
    for name, row in models.items():
        for key, reading in (("fidelity_shifted", "ours"), ("fidelity_shifted_paper_units", "paper")):
            if key in row:
                cells = [f"{row[key][str(o)]['mean']:.3f} ({row[key][str(o)]['clipped']:.2f})" for o in header]
                lines.append(f"| {name} | {reading} | " + " | ".join(cells) + " |")
    lines += ["", "Reconstruction (all inputs, posterior means)", "", "| model | hit accuracy | hit F1 | velocity MAE (MIDI) | offset MAE |", "|---|---|---|---|---|"]
    for name, row in models.items():
        r = row["reconstruction"]
        lines.append(f"| {name} | {r['hit_accuracy']:.4f} | {r['hit_f1']:.3f} | {r['velocity_mae_midi']:.1f} | {r['offset_mae']:.3f} |")
    lines += ["", "Auxiliary read-back (each input from its own latent, posterior mean)", "", "| model | score hit accuracy | groove hit accuracy | groove velocity MAE (MIDI) | groove offset MAE |", "|---|---|---|---|---|"]
    for name, row in models.items():
        if "readback" in row:
            r = row["readback"]
            lines.append(f"| {name} | {r['score_hit_accuracy']:.4f} | {r['groove_hit_accuracy']:.4f} | {r['groove_velocity_mae_midi']:.1f} | {r['groove_offset_mae']:.3f} |")
    return "\n".join(lines)


def write_results(path: Path, results: dict) -> None:
    """Write `results` as JSON, keeping the keys of an existing file that `results` lacks (the `follow`
    key of `encore.training.groove.follow_eval`)."""
    kept = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**kept, **results}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: `python -m encore.training.groove.eval [--models ...] [--limit N] [--out FILE]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODEL_KINDS))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = evaluate(args.models, limit=args.limit)
    print(format_report(results))
    if args.out:
        write_results(args.out, results)


if __name__ == "__main__":
    main()
