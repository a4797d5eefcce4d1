"""`Previous` (back a song at the next bar line) and `Record` (pause and resume the recording)."""

from __future__ import annotations

from collections import defaultdict

import mido
import pytest
from engine_helpers import eighths, note_ons, script

from encore.engine.clock import VirtualClock
from encore.engine.commands.jump import Next, Previous
from encore.engine.commands.record import Record
from encore.engine.commands.tempo import SetTempo
from encore.engine.engine import Engine, EngineConfig
from encore.engine.results import Rejected
from encore.engine.sinks.base import MemorySink
from encore.engine.sinks.recorder import RecorderSink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.songs import SongPlan
from encore.engine.wire import from_json, to_dict

SONGS = (SongPlan("intro", 16, (SetTempo(120.0),)), SongPlan("verse", 16, (SetTempo(90.0),)),
         SongPlan("outro", 16, (SetTempo(150.0),)))


def offline(sinks: list, songs: tuple[SongPlan, ...] = ()) -> Engine:
    return Engine([eighths()], sinks, EngineConfig(bpm=120.0), now=VirtualClock(50.0), songs=songs)


def test_previous_goes_back_a_song_at_a_bar_line_and_applies_its_commands_again() -> None:
    sink, seen, tickets = MemorySink(), {}, []
    engine = offline([sink], SONGS)
    take = lambda now: seen.setdefault(round(now, 2), engine.snapshot())  # noqa: E731
    submit = lambda command: lambda now: tickets.append(engine.submit(command))  # noqa: E731
    # Next at 1 s moves the verse to beat 8 (4 s); Previous at 6 s (beat 11, rendered to ~beat 14)
    # brings the intro back at beat 16 (9.33 s: 8 beats at 90 bpm after 4 s).
    plan = {1.0: submit(Next()), 5.0: take, 6.0: submit(Previous()), 9.3: take, 9.4: take}
    report = engine.run_offline(on_tick=script(engine, plan))
    assert all(ticket.result(0).ok for ticket in tickets)
    assert seen[5.0].song.name == "verse" and seen[5.0].tempo_bpm == 90.0
    waiting, back = seen[9.3], seen[9.4]
    assert waiting.song.name == "verse" and (waiting.next_song.name, waiting.next_song.start_beat) == ("intro", 16.0)
    assert back.song.name == "intro" and back.tempo_bpm == 120.0 and back.next_song.name == "verse"
    assert [e.beat for e in sink.events if e.is_meta] == [0.0, 8.0, 16.0, 32.0, 48.0]
    # The intro again from beat 16 (16 beats at 120), the verse (16 at 90) and the outro (16 at 150).
    assert report.seconds == pytest.approx(4.0 + 8 * 60 / 90 + 16 * 60 / 120 + 16 * 60 / 90 + 16 * 60 / 150)


@pytest.mark.parametrize(("songs", "reason"), [(SONGS, "previous: song 1 (intro) is the first"),
                                                ((), "previous: this show has no setlist")])
def test_previous_at_the_first_song_and_without_songs_is_rejected(songs: tuple[SongPlan, ...], reason: str) -> None:
    engine, tickets = offline([MemorySink()], songs), []
    engine.run_offline(1.0, on_tick=script(engine, {0.5: lambda now: tickets.append(engine.submit(Previous()))}))
    assert tickets[0].result(0) == Rejected(Previous(), reason)


def test_record_pauses_and_resumes_and_every_recorded_note_is_closed(tmp_path) -> None:
    path = tmp_path / "set.mid"
    memory, recorder, seen = MemorySink(), RecorderSink(path), {}
    engine = offline([memory, recorder])
    take = lambda now: seen.setdefault(round(now, 2), engine.snapshot())  # noqa: E731
    plan = {2.02: Record(False), 2.5: take, 4.02: Record(True), 4.5: take}
    engine.run_offline(6.0, on_tick=script(engine, plan))
    assert _recorder(seen[2.5]).state == "paused" and _recorder(seen[4.5]).state == "open"
    midi = mido.MidiFile(path)
    ons, sounding, ppq = [], defaultdict(int), midi.ticks_per_beat
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                ons.append(tick / ppq)
                sounding[message.note] += 1
            elif message.type in ("note_off", "note_on"):
                sounding[message.note] -= 1
                assert sounding[message.note] >= 0
    assert not any(sounding.values())
    # Paused from beat ~4.04 to ~8.04: the eighths sent there are not in the file, the rest are.
    sent = [e.beat for e in note_ons(memory.events)]
    assert sorted(ons) == [beat for beat in sent if not 4.04 < beat < 8.04 + 1e-9]
    assert any(4.5 < beat < 8.0 for beat in sent)


def test_record_without_a_recording_is_rejected_with_the_reason() -> None:
    sink = MemorySink()
    engine = offline([sink])
    tickets = []
    engine.run_offline(1.0, on_tick=script(engine, {0.5: lambda now: tickets.append(engine.submit(Record(False)))}))
    assert tickets[0].result(0) == Rejected(Record(False), "record: this show has no recording (start it with --record FILE)")


def test_the_new_commands_on_the_wire() -> None:
    assert to_dict(Previous()) == {"command": "previous"} and from_json('{"command": "previous"}') == Previous()
    assert from_json('{"on": false}', "record") == Record(False) and to_dict(Record()) == {"command": "record", "on": True}
    with pytest.raises(ValueError, match="record.on: must be true or false"):
        from_json('{"on": "yes"}', "record")


def _recorder(snapshot: ShowSnapshot):
    return next(output for output in snapshot.outputs if output.kind == "recorder")
