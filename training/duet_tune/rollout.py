"""One duet rollout: a POP909 window played as the engine plays a duet, through the same code path.

The piano stream (`PianoStream`) is primed with the window's seed written as the engine's seed file
(`encore.training.duet_eval.runner.write_seed`), opened with `Style_pop`, with the piano voice's rewind
reach. The performer's MELODY notes are laid in by `encore.models.piano.duet.insert_notes`, each at the
moment it is played: the stream has rendered `lookahead_beats` past it (the engine's lookahead), the note
goes in with the provisional duration the engine gives a note-on (`encore.engine.performer`), and what the
stream sampled before `commit_beats` after it stands. A stream beat is the window's beat plus the seed's.

The result is the final context (prompt and played tokens), which of them are the model's own (every
played token but the performer's four), the model's notes in window beats and the tokens it sampled.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encore.engine.performer import FIRST_DURATION_BEATS, LONGEST_DURATION_BEATS
from encore.engine.voices.piano import REWIND_TOKENS
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.duet import insert_notes
from encore.models.piano.stream import PianoStream, seed_token_ids
from encore.models.piano.streaming_decoder import StreamingDecoder, TokenTable
from encore.models.piano.tokenizer import PERFORMER_TOKEN
from encore.models.sampling_config import SamplingConfig
from encore.training.duet_eval.runner import write_seed
from encore.training.duet_eval.songs import SongWindow
from encore.training.duet_tune.data import own_mask


@dataclass(frozen=True)
class DuetRollout:
    """What one duet rollout played.

    Attributes:
        tokens: The final context: BOS, the style, the seed's tokens, Bar, then every token played.
        own: Per token, whether it is the model's own played token (the loss's targets).
        notes: The model's notes in window beats.
        sampled: Tokens sampled (each re-render's included): the duet's decoding cost.
    """

    tokens: list[int]
    own: list[bool]
    notes: list[NoteEvent]
    sampled: int


def provisional_notes(melody: list[NoteEvent]) -> list[NoteEvent]:
    """The melody as the piano hears it at each note-on: the duration of the last note ended by then (the
    first: `FIRST_DURATION_BEATS`), at most `LONGEST_DURATION_BEATS`."""
    heard = []
    for index, note in enumerate(melody):
        ended = [m for m in melody[:index] if m.end_beats <= note.onset_beats]
        last = min(max(ended, key=lambda m: m.end_beats).duration_beats, LONGEST_DURATION_BEATS) if ended else FIRST_DURATION_BEATS
        heard.append(NoteEvent(note.onset_beats, note.pitch, note.velocity, last))
    return heard


class TokenLog:
    """The tokens a stream has played since its prime, kept right through its rewinds (from its marks)."""

    def __init__(self) -> None:
        self.tokens: list[int] = []

    def sync(self, stream: PianoStream) -> None:
        """Bring the log in line with the stream's remembered steps and its latest token."""
        count = stream.tokens_generated
        self.tokens = self.tokens[:count] + [0] * max(0, count - len(self.tokens))
        for mark in stream.history:
            if 1 <= mark.tokens_generated <= count:
                self.tokens[mark.tokens_generated - 1] = mark.last_tokens[0]
        if count:
            self.tokens[count - 1] = stream.last_tokens[0]


def play_duet(bundle: PianoBundle, window: SongWindow, sampling_seed: int, temperature: float,
              lookahead_beats: float, commit_beats: float) -> DuetRollout:
    """Play the window's melody into a stream primed with its seed (module docstring)."""
    stream = PianoStream(bundle, SamplingConfig(temperature=temperature, top_p=1.0), seed=sampling_seed)
    stream.set_style("pop")
    stream.enable_rewind(REWIND_TOKENS)
    with tempfile.TemporaryDirectory(prefix="duet-tune-") as folder:
        seed_file = write_seed(window, Path(folder) / "seed.mid")
        prompt_ids = seed_token_ids(bundle, seed_file)
        stream.prime_midi(seed_file)
    vocab = bundle.tokenizer.vocab
    prompt = [vocab["BOS_None"], vocab["Style_pop"], *(t for t in prompt_ids if t != vocab["BOS_None"]), vocab["Bar_None"]]
    shift = window.seed_beats
    start = stream.position_beats - shift  # the window beat the stream goes on from (<= 0)
    melody = provisional_notes([n for n in window.melody if start <= n.onset_beats < window.window_beats])
    log, sampled = TokenLog(), 0

    def sample_until(beat: float) -> None:
        nonlocal sampled
        while stream.position_beats < beat or stream.awaiting_note:
            stream.step()
            sampled += 1
            log.sync(stream)

    onsets = sorted({note.onset_beats for note in melody})
    for onset in onsets:
        sample_until(onset + shift + lookahead_beats)
        played = [NoteEvent(n.onset_beats + shift, n.pitch, n.velocity, n.duration_beats)
                  for n in melody if n.onset_beats == onset]
        insert_notes(stream, played, onset + shift + commit_beats)
        log.sync(stream)
    sample_until(window.window_beats + shift)
    played = log.tokens
    mine = own_mask(np.asarray(played, dtype=np.int64), vocab[PERFORMER_TOKEN]).tolist()
    decoder = StreamingDecoder(TokenTable.from_tokenizer(bundle.tokenizer))
    notes = decoder.feed_many(prompt + [token for token, own in zip(played, mine, strict=True) if own])
    return DuetRollout(prompt + played, [False] * len(prompt) + mine,
                       [NoteEvent(n.onset_beats - shift, n.pitch, n.velocity, n.duration_beats)
                        for n in notes if n.onset_beats >= start + shift], sampled)
