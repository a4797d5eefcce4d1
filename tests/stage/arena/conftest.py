"""A small arena shared by the web, store and browser tests: two one-minute entries of known quality
(a melody in C major, random notes), two chunks each, rendered with the real SoundFont at 16 kHz."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from arena_helpers import in_key_notes, random_notes, write_entry_file

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.stage.arena.adding import add_entry
from encore.stage.arena.audio import AudioConfig
from encore.stage.arena.store import ArenaStore

SMALL_AUDIO = AudioConfig(sample_rate=16000, workers=0, preroll_s=2.0)


@pytest.fixture(scope="session")
def soundfont() -> Path:
    if not DEFAULT_SOUNDFONT.is_file():
        pytest.skip(f"the piano SoundFont {DEFAULT_SOUNDFONT} is not installed (apt-get install fluid-soundfont-gm)")
    return DEFAULT_SOUNDFONT


@pytest.fixture(scope="session")
def small_arena_template(tmp_path_factory: pytest.TempPathFactory, soundfont: Path) -> Path:
    folder = tmp_path_factory.mktemp("arena-template")
    store = ArenaStore(folder / "arena.sqlite", create=True)
    for name, notes in (("in-key", in_key_notes(60.0, seed=1)), ("random", random_notes(60.0, seed=2))):
        add_entry(store, name, write_entry_file(folder / f"{name}.mid", notes), allow_short=True, audio=SMALL_AUDIO)
    return folder


@pytest.fixture
def small_arena(small_arena_template: Path, tmp_path: Path) -> ArenaStore:
    """A fresh copy of the two-entry arena (no votes yet)."""
    folder = tmp_path / "arena"
    shutil.copytree(small_arena_template, folder)
    return ArenaStore(folder / "arena.sqlite")
