"""The style token: a v2 stream opens with it after BOS; a v1 checkpoint or a bad name is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.engine.setlist import PianoSettings
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream
from encore.models.piano.tokenizer import RemiPlusSettings

SEED = Path(__file__).resolve().parents[3] / "setlists" / "seeds" / "pop909_003.mid"


def test_a_v2_stream_opens_with_bos_and_its_style_and_keeps_them() -> None:
    bundle = PianoBundle.random(preset="tiny", settings=RemiPlusSettings.with_roles())
    stream = PianoStream(bundle, seed=1)
    stream.enable_rewind(4)
    stream.set_style("score")
    stream.prime_midi(SEED)
    vocab = bundle.tokenizer.vocab
    cached = stream.cache.tokens_seen
    stream.generate_until(stream.position_beats + 1.0)
    assert cached > 2 and stream.style_id == vocab["Style_score"]
    fresh = PianoStream(bundle, seed=1)
    fresh.prime_midi(SEED)
    assert fresh.cache.tokens_seen == cached - 1  # the style token is the one more token in the sink


def test_a_style_needs_a_v2_checkpoint_and_a_known_name() -> None:
    stream = PianoStream(PianoBundle.random(preset="tiny"), seed=1)
    with pytest.raises(ValueError, match="no 'Style_pop' token"):
        stream.set_style("pop")
    with pytest.raises(ValueError, match="style: must be one of pop, score, performance"):
        PianoSettings(style="jazz")
    assert PianoSettings(style="performance").style == "performance"
