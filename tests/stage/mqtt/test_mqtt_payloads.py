"""What the bridge publishes and how it reads control messages, from snapshots of a real (offline) show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encore.engine.clock import VirtualClock
from encore.engine.commands.key import SetKey
from encore.engine.commands.mix import Mute
from encore.engine.commands.tempo import SetTempo
from encore.engine.control import CommandError
from encore.engine.engine import Engine, EngineConfig
from encore.engine.results import Applied, Rejected
from encore.engine.sinks.base import MemorySink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.voices.originality import OriginalityGuard
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.models.notes import NoteEvent
from encore.stage.mqtt.payloads import (
    ERROR_PAYLOAD_CHARS,
    RETAINED_REFUSED,
    NoteFeed,
    command_from_message,
    encode,
    error_payload,
    reply_payload,
    state_payload,
)
from encore.stage.mqtt.settings import StageTopics
from tests.engine.originality_helpers import copying_engine, melody_index

TOPICS = StageTopics("main")


def chords() -> PatternVoice:
    """Three-note chords on every beat, the same key struck twice at once on beat 2 (a re-strike)."""
    pattern = [NoteEvent(float(beat), pitch, 90, 0.5) for beat in range(4) for pitch in (60, 64, 67)]
    pattern.append(NoteEvent(2.0, 64, 70, 0.25))
    return PatternVoice("chords", 0, pattern, 4.0)


def snapshots_of_a_show(seconds: float, every_s: float) -> tuple[list[ShowSnapshot], MemorySink]:
    """Snapshots taken every `every_s` of an offline show of chords and a click."""
    sink = MemorySink()
    voices = [chords(), PatternVoice("click", 9, click_pattern(4, 0.5), 4.0)]
    engine = Engine(voices, [sink], EngineConfig(bpm=120.0, tick_s=0.01), now=VirtualClock())
    taken: list[ShowSnapshot] = []

    def tick(now: float) -> None:
        if not taken or now >= taken[-1].show_time_s + every_s:
            taken.append(engine.snapshot())

    engine.run_offline(seconds, on_tick=tick)
    taken.append(engine.snapshot())
    return taken, sink


@pytest.mark.parametrize("every_s", [0.01, 0.1, 0.73])
def test_the_note_feed_publishes_every_note_sent_once(every_s: float) -> None:
    snapshots, sink = snapshots_of_a_show(6.0, every_s)
    feed = NoteFeed()
    published = []
    for snapshot in snapshots:
        message = feed.new_notes(snapshot)
        if message is not None:
            json.loads(encode(message))
            assert message["tempo"] == 120.0
            published += [(n["voice"], n["onset_beats"], n["pitch"], n["velocity"]) for n in message["notes"]]
    assert feed.new_notes(snapshots[-1]) is None  # nothing new: nothing published
    sent = {(e.track, e.beat, e.message[1]) for e in sink.events if e.is_note_on}
    assert len(published) == len(set(published))
    assert {(voice, onset, pitch) for voice, onset, pitch, _ in published} == sent  # the re-strike once
    assert len([note for note in published if note[:3] == ("chords", 2.0, 64)]) == 1
    assert ("click", 0.0, 37, 110) in published


def test_the_state_is_the_snapshot_without_its_notes_plus_tempo_and_stage() -> None:
    snapshot = snapshots_of_a_show(1.0, 0.5)[0][-1]
    state = json.loads(encode(state_payload(snapshot, "main")))
    assert state["online"] is True and state["stage"] == "main" and state["tempo"] == 120.0
    assert {"song", "bar", "playing", "voices", "outputs", "tempo_bpm"} <= set(state)
    assert [v["name"] for v in state["voices"]] == ["chords", "click"]
    assert all("recent_notes" not in v for v in state["voices"])
    assert snapshot.voices[0].recent_notes  # still in the snapshot itself


def test_the_state_carries_the_piano_guards_counts() -> None:
    guard = OriginalityGuard(melody_index())
    engine = copying_engine(guard)
    engine.run_offline(10.0)
    state = json.loads(encode(state_payload(engine.snapshot(), "main")))
    counts = guard.state()
    assert counts.rerendered >= 3
    assert state["voices"][0]["originality"] == {"status": "on", "reviews": counts.reviews, "rerendered": counts.rerendered,
                                                 "let_through": 0, "last_match": "training/melody"}


def test_control_messages_become_commands_or_one_line_errors(tmp_path: Path) -> None:
    assert command_from_message(TOPICS, "encore/main/control/tempo", b'{"bpm": 100}', False, None) == SetTempo(100.0)
    assert command_from_message(TOPICS, "encore/main/control/mute", b' {"voice": "x"} ', False, None) == Mute("x")
    assert command_from_message(TOPICS, "encore/main/control/key", b'{"key": "D minor", "strength": -3}', False,
                                None) == SetKey("D minor", -3.0)
    with pytest.raises(CommandError, match="^key.key: must be a tonic and a mode like"):
        command_from_message(TOPICS, "encore/main/control/key", b'{"key": "D minr"}', False, None)
    with pytest.raises(CommandError, match=f"^{RETAINED_REFUSED}$"):
        command_from_message(TOPICS, "encore/main/control/tempo", b'{"bpm": 100}', True, None)
    with pytest.raises(CommandError, match="unknown command 'tempo/now'"):
        command_from_message(TOPICS, "encore/main/control/tempo/now", b'{"bpm": 100}', False, None)
    with pytest.raises(CommandError, match="not valid JSON"):
        command_from_message(TOPICS, "encore/main/control/tempo", b"\xc0\x80", False, None)
    seed = tmp_path / "seeds" / "intro.mid"
    seed.parent.mkdir()
    seed.write_bytes(b"")
    reseed = command_from_message(TOPICS, "encore/main/control/reseed", b'{"seed": "intro"}', False, tmp_path)
    assert reseed.seed == seed.resolve()


def test_errors_quote_the_start_of_the_payload_and_its_size() -> None:
    payload = b'{"pad": "' + b"\xe2\x82\xac" * 1000 + b'"}'
    error = json.loads(encode(error_payload("encore/main/control/tempo", "tempo", payload, "why")))
    assert error["bytes"] == len(payload) and error["reason"] == "why" and error["command"] == "tempo"
    assert len(error["payload"]) <= ERROR_PAYLOAD_CHARS and error["payload"].startswith('{"pad": "€')


def test_replies() -> None:
    assert reply_payload(Applied(SetTempo(90.0))) == {"ok": True, "command": {"command": "tempo", "bpm": 90.0}}
    assert reply_payload(Rejected(Mute("x"), "voice: no voice named 'x'")) == {
        "ok": False, "reason": "voice: no voice named 'x'", "command": {"command": "mute", "voice": "x", "muted": True}}
    assert reply_payload("not valid JSON") == {"ok": False, "reason": "not valid JSON"}
