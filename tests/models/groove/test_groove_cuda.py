"""The groove VAE's CUDA path: a paper-size model encodes, decodes and generates on the GPU as on the CPU,
and a training step on the GPU runs. Skipped without a CUDA device (run on a lent GPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from encore.models.groove.config import MODEL_KINDS, GrooveConfig
from encore.models.groove.vae import GrooveVAE
from encore.training.groove.config import GrooveTrainerConfig
from encore.training.groove.trainer import train
from encore.training.optimizer_step import clipped_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "groove"
TINY = {"encoder_hidden": 16, "decoder_hidden": 32, "aux_hidden": 16, "score_latent": 8, "groove_latent": 8}


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_paper_size_model_decodes_on_cuda_as_on_cpu(kind: str, windows: tuple[torch.Tensor, ...]) -> None:
    torch.manual_seed(0)
    cpu = GrooveVAE(GrooveConfig.from_name(kind, "paper")).eval()
    cuda = GrooveVAE(GrooveConfig.from_name(kind, "paper")).eval()
    cuda.load_state_dict(cpu.state_dict())
    cuda.cuda()
    hits, velocities, offsets = windows
    with torch.no_grad():
        means = {name: cpu.encode(cpu.inputs(*windows))[name].mean for name in cpu.config.slot_names}
        on_gpu = {name: p.mean.cpu() for name, p in cuda.encode(cuda.inputs(*(w.cuda() for w in windows))).items()}
        z = cpu.joined(means)
        target = torch.cat([hits, velocities, offsets], dim=-1)
        expected = cpu.decoder(z, target)
        actual = cuda.decoder(z.cuda(), target.cuda())
        generated_cpu = cpu.decoder.generate(z, 32, forced_hits=hits)
        generated_gpu = cuda.decoder.generate(z.cuda(), 32, forced_hits=hits.cuda())
    for name in means:
        torch.testing.assert_close(on_gpu[name], means[name], atol=1e-3, rtol=1e-3)
    for field in ("hit_logits", "velocities", "offsets"):
        torch.testing.assert_close(getattr(actual, field).cpu(), getattr(expected, field), atol=1e-3, rtol=1e-3)
        torch.testing.assert_close(getattr(generated_gpu, field).cpu(), getattr(generated_cpu, field), atol=1e-3, rtol=1e-3)


def test_a_training_step_on_cuda_lowers_the_loss(windows: tuple[torch.Tensor, ...]) -> None:
    torch.manual_seed(0)
    model = GrooveVAE(GrooveConfig.from_name("aux", "paper", dropout=0.0)).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = tuple(w.cuda() for w in windows)
    first, _ = model.loss(*batch)
    for _ in range(20):
        loss, parts = model.loss(*batch)
        clipped_step(optimizer, loss, model.parameters(), 1.0)
    assert all(np.isfinite(value) for value in parts.values())
    assert parts["loss"] < first.item()
    assert next(model.parameters()).is_cuda


def test_a_cuda_run_resumes(tmp_path: Path) -> None:
    """The saved CPU random state comes back to the CPU when the state is loaded onto the GPU."""
    paths = {"run_dir": tmp_path / "run", "cache_dir": tmp_path / "cache", "out_dir": tmp_path / "ckpt"}
    first = GrooveTrainerConfig(model="aux", model_options=TINY, steps=2, batch_size=4, eval_every=1, device="cuda")
    train(first, FIXTURES.parent, **paths)
    longer = GrooveTrainerConfig(model="aux", model_options=TINY, steps=4, batch_size=4, eval_every=1, device="cuda")
    train(longer, FIXTURES.parent, resume=True, **paths)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=False)
    assert state["step"] == 4
