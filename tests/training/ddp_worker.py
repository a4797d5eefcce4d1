"""Run by torchrun in the DDP test: a few training steps, then each rank saves its weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from encore.training.piano.config import PianoTrainerConfig
from encore.training.piano.trainer import Trainer


def main(cache_dir: str, out_dir: str) -> None:
    config = PianoTrainerConfig(cache_dir=Path(cache_dir), run_dir=Path(out_dir), preset="tiny", steps=3,
                                batch_size=2, crop=32, eval_every=100, save_every=100, eval_windows=2, threads=1,
                                device="cpu", mixed_precision=False)
    trainer = Trainer(config)
    trainer.train()
    torch.save(trainer.model.state_dict(), Path(out_dir) / f"rank{dist.get_rank()}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
