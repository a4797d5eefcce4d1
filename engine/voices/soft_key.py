"""A soft key for the piano (`SetKey`): a negative logit bias on the Pitch tokens outside a scale.

The bias goes into the voice's stream (`PianoStream.logit_bias`, added to the logits before every
sampling step), so pitches outside the key grow rarer without being forbidden: a bias of `b` nats
multiplies each one's odds against the pitches in the key by e^b (the default -2: by about 0.14).
The voice picks it up at its next token; the engine renders its lookahead again from where a change
can be heard (`encore.engine.horizon`). A key is a tonic and a mode, `D minor`, `F# major`, `Bb major`;
the minor scale is the natural minor with the raised leading tone (harmonic minor's too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from encore.engine.voices.base import Voice
from encore.engine.voices.piano import PianoVoice

if TYPE_CHECKING:
    import torch

OFF = "off"
"""The key name that takes the bias away."""
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)
"""Scale degrees in semitones above the tonic."""
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_KEY = re.compile(r"\s*([A-Ga-g])([#♯b♭]?)\s+(major|minor)\s*", re.IGNORECASE)
PITCH_PREFIX = "Pitch_"
"""The piano vocabulary's pitch tokens are `Pitch_<MIDI number>`."""


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class 0-11 and mode."""

    tonic: int
    minor: bool

    @property
    def name(self) -> str:
        """E.g. `D minor`, `F# major` (sharps and flats as `PITCH_CLASS_NAMES` spells them)."""
        return f"{PITCH_CLASS_NAMES[self.tonic]} {'minor' if self.minor else 'major'}"

    @property
    def pitch_classes(self) -> frozenset[int]:
        """The pitch classes of its scale."""
        return frozenset((self.tonic + step) % 12 for step in (MINOR_SCALE if self.minor else MAJOR_SCALE))


KEY_NAMES = (OFF, *(Key(tonic, minor).name for minor in (False, True) for tonic in range(12)))
"""Every key a surface offers, as the snapshot names them: `off`, the 12 major keys, the 12 minor keys."""


def parse_key(text: str) -> Key | None:
    """The key `text` names (`D minor`, `f# major`, `Bb major`), or None for `off`.

    Raises:
        ValueError: one line saying what a key name looks like.
    """
    if isinstance(text, str) and text.strip().lower() == OFF:
        return None
    found = _KEY.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f'must be a tonic and a mode like "D minor" or "F# major", or "off", got {text!r}')
    letter, accidental, mode = found.groups()
    return Key((_LETTERS[letter.upper()] + _ACCIDENTALS[accidental]) % 12, mode.lower() == "minor")


def key_bias(vocab: dict[str, int], key: Key, strength: float) -> torch.Tensor:
    """A (vocab,) float32 logit bias: `strength` on every Pitch token outside `key`'s scale, 0 elsewhere."""
    import torch  # here, not above: the wire format reads this module's commands without a model

    bias = torch.zeros(len(vocab))
    outside = [index for name, index in vocab.items()
               if name.startswith(PITCH_PREFIX) and name[len(PITCH_PREFIX):].isdigit()
               and int(name[len(PITCH_PREFIX):]) % 12 not in key.pitch_classes]
    bias[outside] = strength
    return bias


def takes_key(voice: Voice) -> bool:
    """Whether `voice` can lean to a key (a piano voice)."""
    return isinstance(voice, PianoVoice)


def set_key(voice: PianoVoice, key: Key | None, strength: float) -> None:
    """Make `voice` lean to `key` by `strength` nats from its next token (None: no key); any thread.

    The stream's `logit_bias` is this key's alone: it is replaced, or removed with None.
    """
    stream = voice.stream
    stream.logit_bias = None if key is None else key_bias(stream.bundle.tokenizer.vocab, key, strength).to(stream.bundle.device)
    voice.key = None if key is None else key.name
