"""A duet with revisions off is refused with one line, at the start of a show and as a command; with them on it
is taken (the piano hears the notes). Real parts: the tiny piano built by a setlist, the engine on a virtual clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.engine.clock import VirtualClock
from encore.engine.commands.performing import SetPerformer
from encore.engine.config import EngineConfig
from encore.engine.control import CommandError
from encore.engine.engine import Engine
from encore.engine.performer import Performer, PerformerSettings
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show

SEED = Path(__file__).resolve().parents[2] / "setlists" / "seeds" / "pop909_003.mid"
REFUSAL = r"^performer: mode duet needs revisions \(commit_s set and a piano that can rewind\)"


def piano_engine(tmp_path: Path, commit_s: float | None) -> Engine:
    """An engine over the tiny piano of a one-song setlist, with the commit horizon asked."""
    path = tmp_path / "set.toml"
    path.write_text(f'[piano]\ncheckpoint = "tiny"\nsampling_seed = 3\n[[songs]]\nseed = "{SEED}"\ntempo = 120\n'
                    "bars = 4\n", encoding="utf-8")
    voices = list(Show.build(load_setlist(path), PlayOptions(headless=True)).engine.voices.values())
    return Engine(voices, [], EngineConfig(bpm=120.0, commit_s=commit_s), now=VirtualClock(0.0))


def test_a_duet_without_revisions_is_refused_at_the_start(tmp_path: Path) -> None:
    engine = piano_engine(tmp_path, commit_s=None)
    with pytest.raises(CommandError, match=REFUSAL) as error:
        Performer(PerformerSettings(mode="duet")).start(engine)
    assert "\n" not in str(error.value)


def test_switching_to_duet_without_revisions_is_refused(tmp_path: Path) -> None:
    engine = piano_engine(tmp_path, commit_s=None)
    with pytest.raises(CommandError, match=REFUSAL):
        SetPerformer("duet").check(engine)
    SetPerformer("call-response").check(engine)  # other modes do not need the piano to render again


def test_a_duet_with_revisions_hears_the_notes(tmp_path: Path) -> None:
    engine = piano_engine(tmp_path, commit_s=0.1)
    performer = Performer(PerformerSettings(mode="duet"))
    performer.start(engine)
    SetPerformer("duet").check(engine)
    performer.note(engine, 60, 90, 1.0)
    assert performer.mode == "duet" and len(performer.heard) == 1
