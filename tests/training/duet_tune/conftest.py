"""A tiny v2 piano (random weights, a context long enough for a few bars) and POP909, for the duet tune's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.phi3 import Phi3, Phi3Config
from encore.models.piano.tokenizer import RemiPlusSettings, build_tokenizer
from encore.training.paths import default_data_root


@pytest.fixture()
def tiny_v2() -> PianoBundle:
    tokenizer = build_tokenizer(RemiPlusSettings.with_roles())
    torch.manual_seed(0)
    model = Phi3(Phi3Config.from_name("tiny", vocab_size=len(tokenizer), context_length=1024)).eval()
    return PianoBundle(model.freeze_for_inference(), tokenizer)


@pytest.fixture()
def data_root() -> Path:
    root = default_data_root()
    if not (root / "pop909" / "index.csv").is_file():
        pytest.skip(f"no POP909 data under {root}")
    return root
