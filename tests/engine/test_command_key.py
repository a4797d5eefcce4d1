"""`SetKey` (wire `key`): key names, the bias on out-of-key pitches, its checks and one-line errors, the
snapshot, and a real sampling run of the shipped piano that plays fewer pitches outside the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from encore.engine.clock import VirtualClock
from encore.engine.commands.key import DEFAULT_STRENGTH, SetKey
from encore.engine.control import CommandError
from encore.engine.engine import Engine, EngineConfig
from encore.engine.results import Applied, Rejected
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.pattern import PatternVoice
from encore.engine.voices.piano import PianoVoice
from encore.engine.voices.soft_key import KEY_NAMES, Key, key_bias, parse_key
from encore.engine.wire import from_json, to_dict
from encore.models.notes import NoteEvent
from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.stream import PianoStream

SEED = Path(__file__).resolve().parents[2] / "setlists" / "seeds" / "pop909_003.mid"


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("text", "tonic", "minor", "name"), [
    ("D minor", 2, True, "D minor"), ("f# major", 6, False, "F# major"), (" Bb  Major ", 10, False, "Bb major"),
    ("G# minor", 8, True, "Ab minor"), ("Cb major", 11, False, "B major"), ("E♭ minor", 3, True, "Eb minor"),
])
def test_a_key_name_is_a_tonic_and_a_mode(text: str, tonic: int, minor: bool, name: str) -> None:
    key = parse_key(text)
    assert key == Key(tonic, minor) and key.name == name
    assert parse_key("off") is None and parse_key(" OFF ") is None
    assert all(parse_key(each) is None or parse_key(each).name == each for each in KEY_NAMES)


def test_the_scales_and_the_bias_on_the_pitches_outside_them() -> None:
    assert parse_key("C major").pitch_classes == {0, 2, 4, 5, 7, 9, 11}
    assert parse_key("D minor").pitch_classes == {2, 4, 5, 7, 9, 10, 0, 1}  # natural minor and the leading tone
    vocab = PianoBundle.random("tiny").tokenizer.vocab
    bias = key_bias(vocab, parse_key("C major"), -2.0)
    for name, index in vocab.items():
        outside = name.startswith("Pitch_") and int(name.removeprefix("Pitch_")) % 12 in {1, 3, 6, 8, 10}
        assert bias[index] == (-2.0 if outside else 0.0), name


@pytest.mark.parametrize(("command", "message"), [
    (SetKey("H minor"), 'key: must be a tonic and a mode like "D minor" or "F# major", or "off", got \'H minor\''),
    (SetKey("D dorian"), 'key: must be a tonic and a mode like "D minor" or "F# major", or "off", got \'D dorian\''),
    (SetKey("D minor\nplease"), "key: must be a tonic and a mode like"),
    (SetKey("D minor", strength=3.0), "strength: must be a number of nats from -20 to 0, got 3.0"),
    (SetKey("D minor", strength=float("nan")), "strength: must be a number of nats from -20 to 0, got nan"),
    (SetKey("D minor", voice="click"), "voice click takes no key (a piano voice does)"),
    (SetKey("D minor", voice="bass"), "voice: no voice named 'bass' (voices: piano, click)"),
])
def test_a_bad_key_is_rejected_with_one_line_saying_why(command: SetKey, message: str) -> None:
    engine = Engine([_tiny_piano(), PatternVoice("click", 9, [NoteEvent(0.0, 76, 90, 0.1)], 1.0)], [MemorySink()],
                    now=VirtualClock())
    result = engine.submit(command).result(0)
    assert isinstance(result, Rejected) and result.reason.startswith(message), result
    assert "\n" not in result.reason
    with pytest.raises(CommandError, match=r"^key\.key: must be a tonic"):
        from_json('{"command": "key", "key": "H minor"}')


def test_the_key_reaches_the_stream_the_snapshot_and_the_wire() -> None:
    piano = _tiny_piano()
    engine = Engine([piano, PatternVoice("click", 9, [NoteEvent(0.0, 76, 90, 0.1)], 1.0)], [MemorySink()],
                    EngineConfig(bpm=120.0), now=VirtualClock())
    assert engine.snapshot().voice("piano").key == "off" and engine.snapshot().voice("click").key is None
    command = from_json('{"command": "key", "key": "d minor"}')  # as MQTT and controllers send it
    assert command == SetKey("d minor", DEFAULT_STRENGTH, "piano")
    assert to_dict(command) == {"command": "key", "voice": "piano", "key": "d minor", "strength": -2.0}
    tickets = [engine.submit(command)]
    seen = []

    def operator(now: float) -> None:
        if now == pytest.approx(1.0):
            seen.append((engine.snapshot().voice("piano").key, piano.stream.logit_bias))
            tickets.append(engine.submit(SetKey("off")))

    engine.run_offline(2.0, operator)
    assert [type(ticket.result(0)) for ticket in tickets] == [Applied, Applied]
    key, bias = seen[0]
    assert key == "D minor" and bias is not None and bias.min() == DEFAULT_STRENGTH and bias.max() == 0.0
    assert piano.stream.logit_bias is None and engine.snapshot().voice("piano").key == "off"
    assert "SetKey" in [latency.command for latency in engine.control_latencies]  # heard at its first note


def test_the_shipped_piano_plays_fewer_pitches_outside_the_key(one_torch_thread: None) -> None:
    """The same seed, sampling seed and 12 s of show, with and without `SetKey("D minor")`: the pitches
    outside D minor (B, Eb, F#, G# after a seed in another key) grow much rarer under the default bias."""
    bundle = load_piano(None)
    key = parse_key("D minor")

    def outside(command: SetKey | None) -> tuple[int, int]:
        sink = MemorySink()
        engine = Engine([PianoVoice(PianoStream(bundle, seed=0), SEED)], [sink], EngineConfig(bpm=120.0),
                        now=VirtualClock())
        if command is not None:
            engine.submit(command)
        engine.run_offline(12.0)
        pitches = [event.message[1] for event in sink.events if event.is_note_on and event.track == "piano"]
        return sum(pitch % 12 not in key.pitch_classes for pitch in pitches), len(pitches)

    free_out, free_all = outside(None)
    keyed_out, keyed_all = outside(SetKey("D minor"))
    assert free_all >= 30 and keyed_all >= 30, (free_all, keyed_all)
    assert free_out >= 5, (free_out, free_all)  # the seed's key is not D minor: the model plays outside it
    assert keyed_out / keyed_all <= 0.5 * free_out / free_all, (keyed_out, keyed_all, free_out, free_all)


def _tiny_piano() -> PianoVoice:
    return PianoVoice(PianoStream(PianoBundle.random("tiny"), seed=0), [NoteEvent(0.0, 60, 80, 1.0)])
