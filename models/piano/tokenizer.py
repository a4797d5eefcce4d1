"""The REMI+ tokenizer (MidiTok REMI with time-signature and tempo tokens, 20 velocity bins, as in SMART).

The tokenizer's config is saved beside every checkpoint, so a checkpoint always decodes with the
tokenizer it was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from miditok import REMI, TokenizerConfig

TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS = ("PAD", "BOS", "EOS")


@dataclass(frozen=True)
class RemiPlusSettings:
    """What distinguishes our REMI+ vocabulary; everything else is MidiTok's default."""

    num_velocities: int = 20
    beat_res: dict[tuple[int, int], int] = field(default_factory=lambda: {(0, 4): 8, (4, 12): 4})
    num_tempos: int = 32
    tempo_range: tuple[int, int] = (40, 250)

    def to_miditok(self) -> TokenizerConfig:
        """The MidiTok config for these settings."""
        return TokenizerConfig(
            pitch_range=(21, 109),
            beat_res=dict(self.beat_res),
            num_velocities=self.num_velocities,
            special_tokens=list(SPECIAL_TOKENS),
            use_chords=False,
            use_rests=False,
            use_tempos=True,
            use_time_signatures=True,
            use_sustain_pedals=False,
            use_pitch_bends=False,
            use_programs=False,
            num_tempos=self.num_tempos,
            tempo_range=self.tempo_range,
        )


def build_tokenizer(settings: RemiPlusSettings | None = None) -> REMI:
    """A fresh REMI+ tokenizer."""
    return REMI((settings or RemiPlusSettings()).to_miditok())


def save_tokenizer(tokenizer: REMI, folder: Path) -> Path:
    """Write the tokenizer config into `folder` (beside a checkpoint) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TOKENIZER_FILE
    tokenizer.save(path)
    return path


def load_tokenizer(folder: Path) -> REMI:
    """Load the tokenizer saved beside a checkpoint."""
    return REMI(params=folder / TOKENIZER_FILE)
