"""A seed MIDI file checked before it is played: readable, and holding at least one note."""

from __future__ import annotations

from pathlib import Path

import mido

from encore.models.errors import SeedError


def check_seed(path: Path) -> None:
    """Make sure a seed is a readable MIDI file with at least one note.

    Raises:
        SeedError: naming the file and what is wrong.
    """
    try:
        midi = mido.MidiFile(path)
    except FileNotFoundError as error:
        raise SeedError(f"seed {path} does not exist") from error
    except (OSError, ValueError, EOFError, KeyError, IndexError) as error:
        raise SeedError(f"seed {path} is not a readable MIDI file ({error})") from error
    if not any(msg.type == "note_on" and msg.velocity > 0 for track in midi.tracks for msg in track):
        raise SeedError(f"seed {path} holds no notes")
