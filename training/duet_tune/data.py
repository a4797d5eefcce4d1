"""POP909 songs laid out for the duet: MELODY as the performer's part, PIANO + BRIDGE as the model's own.

Each song of a split is encoded in the v2 layout (`encore.training.piano.roles`: `Performer_None` before each
performer note, performer notes first at their position) after BOS and `Style_pop`, with a mask of the tokens
the loss counts: every token but the performer's (its marker and the Pitch, Velocity and Duration after it),
which are context only. Crops are drawn from a bar line; a crop's first token is never a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from miditok import REMI

from encore.models.midi_io import merge_tracks, read_score, set_time_signature
from encore.models.piano.tokenizer import PERFORMER_TOKEN, RemiPlusSettings
from encore.training.duet_eval.songs import pop909_folder, read_index, split_songs
from encore.training.piano.roles import encode_roles, program_tokenizer
from encore.training.piano.sources import pop909_time_signature

OWN_TRACKS = ("PIANO", "BRIDGE")
PERFORMER_TRACK = "MELODY"
NOTE_TOKENS = 3
"""Pitch, Velocity and Duration follow a performer's marker."""


@dataclass(frozen=True)
class DuetSong:
    """One song's token ids, which of them the loss counts (`own`) and the bar its melody enters (0-based)."""

    song_id: str
    ids: np.ndarray
    own: np.ndarray
    melody_bar: int = 0


def own_mask(ids: np.ndarray, marker: int) -> np.ndarray:
    """True for every token but a performer note's (its marker and the three tokens after it)."""
    own = np.ones(len(ids), dtype=bool)
    for index in np.flatnonzero(ids == marker):
        own[index:index + 1 + NOTE_TOKENS] = False
    return own


def encode_song(folder: Path, song_id: str, metre: tuple[int, int], tokenizer: REMI, programs: REMI,
                solo: bool = False) -> DuetSong:
    """A POP909 song's ids (BOS, `Style_pop`, the v2 layout) and its own-token mask; `solo`: every part the
    model's own, as a solo file reads (the solo held-out loss)."""
    raw = read_score(folder / song_id / f"{song_id}.mid")
    own = merge_tracks(raw, lambda track: track.name in (*OWN_TRACKS, PERFORMER_TRACK) if solo else track.name in OWN_TRACKS)
    performer = merge_tracks(raw, lambda track: not solo and track.name == PERFORMER_TRACK)
    set_time_signature(own, *pop909_time_signature(*metre))
    vocab = tokenizer.vocab
    body = encode_roles(own, own.tracks[0], performer.tracks[0] if performer.tracks else None, tokenizer, programs)
    ids = np.concatenate([[vocab["BOS_None"], vocab["Style_pop"]], body]).astype(np.int64)
    numerator, denominator = pop909_time_signature(*metre)
    melody = [note.time for track in raw.tracks if track.name == PERFORMER_TRACK for note in track.notes]
    bar = int(min(melody) // (raw.tpq * numerator * 4 // denominator)) if melody else 0
    return DuetSong(song_id, ids, own_mask(ids, vocab[PERFORMER_TOKEN]), bar)


def load_songs(data_root: Path, split: str, tokenizer: REMI, limit: int | None = None,
               solo: bool = False) -> list[DuetSong]:
    """The split's POP909 songs (the piano model's split), encoded (`encode_song`); songs MidiTok cannot encode
    are left out.

    Raises:
        EncoreError: no POP909 data under `data_root`.
        ValueError: the tokenizer has no performer marker (a v1 checkpoint).
    """
    if PERFORMER_TOKEN not in tokenizer.vocab:
        raise ValueError("the duet fine-tune needs a v2 checkpoint (its vocabulary has no Performer_None)")
    folder = pop909_folder(data_root)
    index = read_index(folder)
    programs = program_tokenizer(RemiPlusSettings.with_roles())
    songs = []
    for song_id in split_songs(folder, split)[:limit]:
        try:
            songs.append(encode_song(folder, song_id, index[song_id], tokenizer, programs, solo))
        except Exception:  # noqa: BLE001 - MidiTok fails on a few durations it has no token for
            continue
    return songs


class DuetCrops:
    """Random crops of the songs from a bar line: (B, crop) ids and (B, crop - 1) target masks.

    Args:
        songs: The encoded songs.
        crop: Tokens per crop (shorter songs are padded; padding is never a target).
        pad_id: The PAD token.
        bar_id: The Bar token (crops start at one).
        seed: Seed of the draws.
    """

    def __init__(self, songs: list[DuetSong], crop: int, pad_id: int, bar_id: int, seed: int) -> None:
        if not songs:
            raise ValueError("no songs to crop")
        self.songs, self.crop, self.pad_id = songs, crop, pad_id
        self.bars = [np.flatnonzero(song.ids == bar_id) for song in songs]
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`size` crops and the masks of their targets (`ids[:, 1:]`)."""
        ids = np.full((size, self.crop), self.pad_id, dtype=np.int64)
        targets = np.zeros((size, self.crop - 1), dtype=bool)
        for row in range(size):
            pick = int(self.rng.integers(len(self.songs)))
            song, bars = self.songs[pick], self.bars[pick]
            start = int(self.rng.choice(bars)) if len(bars) else 0
            piece = song.ids[start:start + self.crop]
            ids[row, :len(piece)] = piece
            targets[row, :len(piece) - 1] = song.own[start + 1:start + len(piece)]
        return torch.from_numpy(ids), torch.from_numpy(targets)

    def windows(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed crops for a held-out loss: each song from the bar its melody enters, in order, up to `count`
        (a solo and a duet encoding of a song give the same bars)."""
        chosen = self.songs[:count]
        ids = np.full((len(chosen), self.crop), self.pad_id, dtype=np.int64)
        targets = np.zeros((len(chosen), self.crop - 1), dtype=bool)
        for row, song in enumerate(chosen):
            bars = self.bars[self.songs.index(song)]
            start = int(bars[min(song.melody_bar, len(bars) - 1)]) if len(bars) else 0
            piece = song.ids[start:start + self.crop]
            ids[row, :len(piece)] = piece
            targets[row, :len(piece) - 1] = song.own[start + 1:start + len(piece)]
        return torch.from_numpy(ids), torch.from_numpy(targets)
