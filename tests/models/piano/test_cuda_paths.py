"""The CUDA paths: the shipped model decodes on the GPU as on the CPU (rolling cache included), a stream
plays there, and a GRPO iteration trains there. Skipped without a CUDA device (run on a lent GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.stream import PianoStream
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.grpo import GrpoTrainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def logits_over(bundle: PianoBundle, tokens: torch.Tensor, window: int) -> torch.Tensor:
    """Last-position logits after each token, decoded one at a time through a cache of `window` slots."""
    device = next(bundle.model.parameters()).device
    cache = bundle.model.setup_cache(tokens.shape[0], max_length=window, sink_tokens=4)
    tokens = tokens.to(device)
    rows = [prefill(bundle.model, tokens[:, :8], cache)]
    rows += [decode_step(bundle.model, tokens[:, i], cache) for i in range(8, tokens.shape[1])]
    assert cache.rolls > 0
    return torch.stack(rows, dim=1).float().cpu()


def test_shipped_model_decodes_on_cuda_as_on_cpu_across_rolls() -> None:
    cpu = load_piano(device="cpu")
    cuda = load_piano(device="cuda", dtype=torch.float32)
    tokens = torch.randint(4, len(cpu.tokenizer), (2, 200), generator=torch.Generator().manual_seed(0))
    expected = logits_over(cpu, tokens, window=64)
    actual = logits_over(cuda, tokens, window=64)
    torch.testing.assert_close(actual, expected, atol=2e-3, rtol=1e-3)


def test_a_bf16_stream_plays_on_cuda() -> None:
    stream = PianoStream(load_piano(device="cuda"), seed=0)
    assert next(stream.model.parameters()).dtype == torch.bfloat16
    stream.prime([])
    notes = stream.generate_until(16.0, max_tokens=2000)
    assert notes and all(0 <= note.pitch < 128 for note in notes)
    assert stream.position_beats >= 16.0


def test_a_grpo_iteration_trains_on_cuda(tmp_path: Path) -> None:
    config = GrpoConfig(run_dir=tmp_path, reward="cmajor", prompts="procedural", steps=2, batch_size=2, group_size=4,
                        max_new_tokens=32, micro_batch=8, device="cuda", save_every=2)
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    before = trainer.policy.lm_head.weight.detach().clone()
    metrics = trainer.train()
    assert metrics["iterations"] == 2 and trainer.policy.lm_head.weight.is_cuda
    assert not torch.equal(before, trainer.policy.lm_head.weight.detach())
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in trainer.history)
