"""The duet with a v2 vocabulary: performer notes marked, first at their position, never doubled."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.duet import insert_notes
from encore.models.piano.stream import PianoStream
from encore.models.piano.streaming_decoder import Kind, StreamingDecoder
from encore.models.piano.tokenizer import PERFORMER_TOKEN, RemiPlusSettings

SEED = Path(__file__).resolve().parents[3] / "setlists" / "seeds" / "pop909_003.mid"


def primed_stream(seed: int) -> tuple[PianoStream, float]:
    torch.manual_seed(0)
    stream = PianoStream(PianoBundle.random(preset="tiny", settings=RemiPlusSettings.with_roles()), seed=seed)
    stream.enable_rewind(512)
    stream.prime_midi(SEED)
    return stream, stream.position_beats


@pytest.mark.parametrize("seed", [5, 11])
def test_v2_duet_lays_the_performers_notes_as_training_does(seed: int) -> None:
    stream, start = primed_stream(seed)
    before = stream.generate_until(start + 6.0)
    mark = list(stream.history)[0]
    # one note on a beat, one between grid steps, one doubling a note the model played before the horizon
    double = next(n for n in before if mark.position_beats < n.onset_beats and n.pitch not in (61, 66))
    table = stream.decoders[0].table
    played = [NoteEvent(start + 3.0, 61, 101, 1.0), NoteEvent(start + 3.52, 66, 80, 0.5),
              NoteEvent(double.onset_beats, double.pitch, 60, 0.5)]
    void = insert_notes(stream, played, max(start + 3.6, double.onset_beats + 0.25))
    assert void is not None

    tokens = [later.last_tokens[0] for later in list(stream.history)[1:]] + [stream.last_tokens[0]]
    kinds = [table.kinds[t] for t in tokens]
    marker = stream.bundle.tokenizer.vocab[PERFORMER_TOKEN]
    assert tokens.count(marker) == 3

    decoder = StreamingDecoder(table)
    decoder.restore(mark.decoders[0])
    own_notes, own_at_position = [], set()
    performer_at_position: set[int] = set()
    performer_notes = []
    for index, token in enumerate(tokens):
        kind = kinds[index]
        if kind in (Kind.POSITION, Kind.BAR):
            own_at_position, performer_at_position = set(), set()
        if kind == Kind.PITCH:
            pitch = table.values[token]
            if index and tokens[index - 1] == marker:
                assert not own_at_position, "a performer note after the model's own at one position"
                performer_at_position.add(pitch)
            else:
                assert pitch not in performer_at_position, "a model note doubles the performer's"
                own_at_position.add(pitch)
        notes = decoder.feed(token)
        if notes and index >= 3 and tokens[index - 3] == marker:
            performer_notes += notes
        else:
            own_notes += notes
    heard = sorted((round(n.onset_beats - start, 3), n.pitch) for n in performer_notes)
    assert heard == sorted([(3.0, 61), (3.5, 66), (round(double.onset_beats - start, 3), double.pitch)])
    assert not any(abs(n.onset_beats - double.onset_beats) < 1e-6 and n.pitch == double.pitch for n in own_notes)
