"""Test-wide settings: one BLAS thread (and for subprocesses), since small models on a shared 2-core
machine run many times slower when two OpenMP threads contend with other work."""

from __future__ import annotations

import os

import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)
