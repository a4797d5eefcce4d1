"""Adding an entry: check it, cut it into chunks, write each chunk's MIDI and audio, store it.

Files are written into a hidden `.NAME.partial` folder first and moved into place just before the
database row is committed, so an interrupted `add` leaves neither a half entry nor its files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from encore.stage.arena.audio import AudioConfig, render_chunks
from encore.stage.arena.entries import check_name, read_music, split, write_chunk_midi
from encore.stage.arena.store import ArenaError, ArenaStore, NewChunk


@dataclass(frozen=True)
class AddedEntry:
    """What `add_entry` stored."""

    name: str
    entry_id: int
    length_s: float
    chunks: int
    chunk_s: float
    warnings: tuple[str, ...]


def add_entry(store: ArenaStore, name: str, path: Path, allow_short: bool = False, audio: AudioConfig | None = None,
              on_chunks: Callable[[int], None] | None = None, on_split: Callable[[int], None] | None = None) -> AddedEntry:
    """Check, split, render and store an entry.

    Args:
        store: The arena.
        name: The entry's name on the leaderboard.
        path: Its MIDI file.
        allow_short: Take an entry shorter than an hour.
        audio: Codec and rendering settings.
        on_chunks: Called with the number of chunks just rendered.
        on_split: Called once with the number of chunks, before rendering.

    Raises:
        EntryRefused: the file is not MIDI, holds no notes or is far from an hour.
        ArenaError: the name is taken, or its folder is left over from elsewhere.
    """
    check_name(name)
    if store.has_entry(name):
        raise ArenaError(f"the arena already has an entry named {name!r}")
    music = read_music(path, allow_short)
    chunks = split(music)
    if on_split is not None:
        on_split(len(chunks))
    folder = store.chunk_root / name
    if folder.exists():
        raise ArenaError(f"{folder} exists but no entry {name!r} is in {store.path}; move it away first")
    partial = store.chunk_root / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for chunk in chunks:
            write_chunk_midi(partial / f"{chunk.index:03d}.mid", chunk)
        audio_files = render_chunks(music.notes, chunks, partial, audio or AudioConfig(), on_chunks)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    relative = folder.relative_to(store.path.parent)
    rows = [NewChunk(c.index, c.start_s, c.length_s, len(c.notes), str(relative / f"{c.index:03d}.mid"),
                     str(relative / audio_file.name)) for c, audio_file in zip(chunks, audio_files, strict=True)]
    try:
        entry_id = store.add_entry(name, str(Path(path).resolve()), music.length_s, rows)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return AddedEntry(name, entry_id, music.length_s, len(chunks), chunks[0].length_s, music.warnings)
