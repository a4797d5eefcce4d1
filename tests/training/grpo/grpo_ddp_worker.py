"""Run by torchrun in the GRPO DDP test: two iterations on the tiny model, then each rank saves its weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from encore.models.piano.checkpoint import PianoBundle
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.grpo import GrpoTrainer


def main(out_dir: str) -> None:
    config = GrpoConfig(run_dir=Path(out_dir), reward="cmajor", prompts="procedural", steps=2, batch_size=2,
                        group_size=4, max_new_tokens=16, learning_rate=1e-2, save_every=2, threads=1, device="cpu")
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    trainer.train()
    torch.save(trainer.policy.state_dict(), Path(out_dir) / f"rank{dist.get_rank()}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
