"""The REMI+ tokenizer (MidiTok REMI with time-signature and tempo tokens, 20 velocity bins, as in SMART).

The tokenizer's config is saved beside every checkpoint, so a checkpoint always decodes with the
tokenizer it was trained with.

Roles (v2 vocabularies): Encore's own tokens are appended after MidiTok's, so every id of a v1
vocabulary means the same in v2 and v1 token arrays are valid v2 input. `Performer_None` marks the next
note (`Pitch Velocity Duration`) as the performer's, not the model's own; at a position the performer's
notes come first, so the model's notes there are conditioned on them. `Style_*` after BOS names the
kind of source (pop arrangement, engraved score, recorded performance). `Reserved_*` are unused rows
kept so a later fine-tune can give them a meaning without changing the vocabulary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from miditok import REMI, TokenizerConfig

from encore.models.piano.styles import STYLES

TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS = ("PAD", "BOS", "EOS")
PERFORMER_TOKEN = "Performer_None"
ROLE_TOKENS: tuple[str, ...] = (PERFORMER_TOKEN, *(f"Style_{style}" for style in STYLES),
                                *(f"Reserved_{index}" for index in range(4)))
EXTRA_TOKENS_KEY = "encore_extra_tokens"


@dataclass(frozen=True)
class RemiPlusSettings:
    """What distinguishes our REMI+ vocabulary; everything else is MidiTok's default."""

    num_velocities: int = 20
    beat_res: dict[tuple[int, int], int] = field(default_factory=lambda: {(0, 4): 8, (4, 12): 4})
    num_tempos: int = 32
    tempo_range: tuple[int, int] = (40, 250)
    extra_tokens: tuple[str, ...] = ()

    @classmethod
    def with_roles(cls) -> RemiPlusSettings:
        """The v2 vocabulary: v1's, then the performer marker, the styles and the reserved rows."""
        return cls(extra_tokens=ROLE_TOKENS)

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
    """A fresh REMI+ tokenizer (with Encore's extra tokens appended, if the settings name any)."""
    settings = settings or RemiPlusSettings()
    return _append(REMI(settings.to_miditok()), settings.extra_tokens)


def extra_tokens(tokenizer: REMI) -> tuple[str, ...]:
    """Encore's tokens appended after MidiTok's vocabulary (empty for a v1 tokenizer)."""
    return tuple(getattr(tokenizer, EXTRA_TOKENS_KEY, ()))


def has_roles(tokenizer: REMI) -> bool:
    """Whether the vocabulary tells the performer's notes from the model's own (v2)."""
    return PERFORMER_TOKEN in extra_tokens(tokenizer)


def _append(tokenizer: REMI, tokens: tuple[str, ...]) -> REMI:
    for token in tokens:
        tokenizer.add_to_vocab(token)
    setattr(tokenizer, EXTRA_TOKENS_KEY, tuple(tokens))
    return tokenizer


def save_tokenizer(tokenizer: REMI, folder: Path) -> Path:
    """Write the tokenizer config into `folder` (beside a checkpoint) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TOKENIZER_FILE
    extra = extra_tokens(tokenizer)
    tokenizer.save(path, additional_attributes={EXTRA_TOKENS_KEY: list(extra)} if extra else None)
    return path


def load_tokenizer(folder: Path) -> REMI:
    """Load the tokenizer saved beside a checkpoint (its extra tokens re-appended in their order)."""
    path = Path(folder) / TOKENIZER_FILE
    extra = tuple(json.loads(path.read_text()).get(EXTRA_TOKENS_KEY, ()))
    tokenizer = REMI(params=path)
    if hasattr(tokenizer, EXTRA_TOKENS_KEY):
        delattr(tokenizer, EXTRA_TOKENS_KEY)  # MidiTok sets unknown keys as attributes; re-append them
    return _append(tokenizer, extra)
