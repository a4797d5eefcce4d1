"""`Engine.snapshot()` on a virtual clock: tempo, mute, sampling, songs, notes sent, outputs, health."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from engine_helpers import FailingSink, eighths, note_ons, script

from encore.engine.clock import VirtualClock
from encore.engine.commands.jump import Next
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.control import Command
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.engine.sinks.recorder import RecorderSink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.songs import SongPlan
from encore.engine.voices.base import Voice
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig


def offline(voices: list[Voice], sinks: list, songs: tuple[SongPlan, ...] = (), **config: object) -> Engine:
    return Engine(voices, sinks, EngineConfig(**config), now=VirtualClock(50.0), songs=songs)


def sent_notes(events: list[MidiEvent], track: str, now_beat: float) -> list[tuple[float, int, int, float]]:
    """Notes rebuilt from the raw events a sink received: note-on paired with the next note-off of its key."""
    open_: dict[tuple[int, int], MidiEvent] = {}
    notes = []
    for event in events:
        key = (event.channel, event.message[1]) if not event.is_meta else None
        if event.is_note_on:
            open_[key] = event
        elif event.is_note_off and key in open_:
            on = open_.pop(key)
            if on.track == track:
                notes.append((on.beat, key[1], on.message[2], event.beat - on.beat))
    notes += [(on.beat, key[1], on.message[2], now_beat - on.beat) for key, on in open_.items() if on.track == track]
    return sorted(notes)


def test_snapshot_follows_tempo_mute_solo_and_sampling() -> None:
    sink, seen = MemorySink(), {}
    voice_a, voice_b = eighths("a", 0), eighths("b", 1, pitch=40)
    engine = offline([voice_a, voice_b], [sink], bpm=120.0)
    assert not engine.snapshot().playing
    take = lambda now: seen.setdefault(round(now, 2), engine.snapshot())  # noqa: E731
    plan = {1.0: SetTempo(60.0), 1.1: Mute("a"), 1.2: SetSampling("b", temperature=0.4, top_p=0.7),
            1.3: Solo("b"), 0.9: take, 2.0: take, 4.0: take}
    engine.run_offline(5.0, on_tick=script(engine, plan))
    before, after, later = seen[0.9], seen[2.0], seen[4.0]
    assert before.playing and before.tempo_bpm == 120.0 and before.time_signature == (4, 4)
    assert (before.bar, before.beat) == (1, pytest.approx(2.8))  # 0.9 s at 120 bpm: beat 1.8 of bar 1
    assert after.tempo_bpm == 60.0  # from beat 3, the next whole beat after 1.0 s (beat 2.0): 1.5 s
    assert later.beats == pytest.approx(3.0 + 2.5) and (later.bar, later.beat) == (2, pytest.approx(2.5))
    a, b = after.voice("a"), after.voice("b")
    assert a.muted and not a.audible and not a.soloed and b.soloed and b.audible
    assert b.sampling == SamplingConfig(temperature=0.4, top_p=0.7) and a.sampling == SamplingConfig()
    assert a.kind == "pattern" and a.channel == 0 and a.groove is None and not a.failed
    final = engine.snapshot()
    assert not final.playing and final.show_time_s == pytest.approx(5.0)


def test_recent_notes_are_the_notes_the_outputs_received() -> None:
    sink, checked = MemorySink(), []
    engine = offline([eighths("a", 0), eighths("b", 1, pitch=40)], [sink], bpm=120.0)

    def check(now: float) -> None:
        snap = engine.snapshot()
        since = snap.beats - 8 * 4  # the last 8 bars of 4/4
        for name in ("a", "b"):
            expected = [n for n in sent_notes(sink.events, name, snap.beats) if n[0] >= since]
            assert list(snap.voice(name).recent_notes) == expected, (now, name)
        checked.append(now)

    plan: dict[float, Command | Callable[[float], None]] = {t: check for t in (0.3, 2.0, 9.0, 20.0)}
    plan.update({t + 0.001: check for t in (1.13, 5.0, 17.5)})  # several between two ticks' sends
    plan[3.0] = Mute("a")
    plan[6.0] = Mute("a", False)
    engine.run_offline(21.0, on_tick=script(engine, plan))
    assert len(checked) == 7
    snap = engine.snapshot()
    a_notes = snap.voice("a").recent_notes
    assert a_notes and all(n[0] >= snap.beats - 32 for n in a_notes)
    assert all(0 < duration <= 0.4 + 1e-9 for *_, duration in a_notes)


def test_muted_notes_are_not_in_the_piano_roll() -> None:
    sink, seen = MemorySink(), []
    engine = offline([eighths("a", 0)], [sink], bpm=120.0)
    engine.run_offline(4.0, on_tick=script(engine, {0.0: Mute("a"), 3.9: lambda now: seen.append(engine.snapshot())}))
    assert seen[0].voice("a").recent_notes == () and not note_ons(sink.events)


def test_songs_next_song_and_the_next_command() -> None:
    sink, seen = MemorySink(), {}
    songs = (SongPlan("intro", 16, (SetTempo(120.0),)), SongPlan("verse", 16, (SetTempo(90.0),)),
             SongPlan("outro", 16, (SetTempo(150.0),)))
    engine = offline([eighths()], [sink], songs, bpm=120.0)
    take = lambda now: seen.setdefault(round(now, 2), engine.snapshot())  # noqa: E731
    ticket: list = []
    plan = {0.5: take, 1.0: lambda now: ticket.append(engine.submit(Next())), 3.9: take, 4.1: take, 20.0: take}
    report = engine.run_offline(on_tick=script(engine, plan))
    intro = seen[0.5]
    assert (intro.song.index, intro.song.name, intro.next_song.name, intro.next_song.start_beat) == (0, "intro", "verse", 16.0)
    assert ticket[0].result(0).ok
    # At 1 s the playhead is at beat 2 and the voice rendered to about beat 7: the verse moves up to beat 8.
    waiting, verse = seen[3.9], seen[4.1]
    assert waiting.song.name == "intro" and waiting.next_song.start_beat == 8.0
    assert verse.song.name == "verse" and verse.tempo_bpm == 90.0 and verse.next_song.start_beat == 24.0
    outro = seen[20.0]
    assert outro.song.name == "outro" and outro.next_song is None and outro.tempo_bpm == 150.0
    # The show ends where the moved-up outro ends: beat 40 (4 s, then 16 beats at 90 bpm, 16 at 150).
    assert report.seconds == pytest.approx(4.0 + 16 * 60 / 90 + 16 * 60 / 150)
    assert [e.beat for e in sink.events if e.is_meta] == [0.0, 8.0, 24.0]
    assert max(e.beat for e in note_ons(sink.events)) < 40.0


def test_outputs_status_recording_elapsed_and_a_dropped_sink(tmp_path) -> None:
    memory, bad = MemorySink(), FailingSink(fail_on=5)
    recorder = RecorderSink(tmp_path / "set.mid")
    engine = offline([eighths()], [memory, bad, recorder], bpm=120.0)
    seen: list[ShowSnapshot] = []
    engine.run_offline(3.0, on_tick=script(engine, {2.0: lambda now: seen.append(engine.snapshot())}))
    outputs = {status.kind: status for status in seen[0].outputs}
    assert set(outputs) == {"memory", "sink", "recorder"}  # the piano roll's internal log is not an output
    assert outputs["memory"].state == "open"
    assert outputs["sink"].state == "dropped" and "port vanished" in outputs["sink"].detail
    assert outputs["recorder"].detail == str(tmp_path / "set.mid")
    assert outputs["recorder"].elapsed_s == pytest.approx(1.75, abs=0.26)  # the last event recorded by 2.0 s
    assert {s.state for s in engine.snapshot().outputs if s.kind != "sink"} == {"closed"}


class TokenVoice(PatternVoice):
    """A pattern voice that says it decodes 10 tokens per beat, slowly enough to be timed."""

    def __init__(self) -> None:
        super().__init__("keys", 0, [NoteEvent(0.0, 60, 90, 0.5)], 1.0)
        self.tokens = 0

    def render_until(self, beat: float) -> list[NoteEvent]:
        self.tokens += max(0, round((beat - self.position_beats) * 10))
        time.sleep(0.002)
        return super().render_until(beat)


def test_health_lookahead_tokens_per_second_underruns_and_json() -> None:
    seen: list[ShowSnapshot] = []
    engine = offline([TokenVoice(), eighths("click", 9)], [MemorySink()], bpm=120.0)
    engine.run_offline(4.0, on_tick=script(engine, {3.0: lambda now: seen.append(engine.snapshot())}))
    snap = seen[0]
    assert snap.voice("keys").tokens_per_s is not None and snap.voice("keys").tokens_per_s > 0
    assert snap.voice("click").tokens_per_s is None and snap.decode_tokens_per_s == snap.voice("keys").tokens_per_s
    assert snap.target_lookahead_ms == pytest.approx(2000.0)  # one bar at 120 bpm
    assert 1500.0 <= snap.lookahead_ms <= 2600.0  # rendered a bar ahead, plus up to a chunk
    assert snap.underruns == 0 and snap.jitter_p99_ms == 0.0 and snap.notes_sent > 0
    data = json.loads(json.dumps(snap.to_dict()))
    assert data["tempo_bpm"] == 120.0 and data["playing"] is True and data["bar"] == 2
    assert data["voices"][0]["sampling"]["temperature"] == 1.0 and data["song"] is None
    assert isinstance(data["voices"][0]["recent_notes"][0], list)


def test_the_piano_voice_shows_its_seed_and_decoding_speed() -> None:
    from test_engine_piano_voice import SEED, ScriptedStream

    from encore.engine.commands.reseed import Reseed
    from encore.engine.voices.piano import PianoVoice

    piano = PianoVoice(ScriptedStream(SamplingConfig()), SEED)
    engine = offline([piano], [MemorySink()], bpm=120.0)
    seen: dict[float, ShowSnapshot] = {}
    take = lambda now: seen.setdefault(round(now, 2), engine.snapshot())  # noqa: E731
    phrase = (NoteEvent(0.0, 72, 100, 1.0),)
    engine.run_offline(6.0, on_tick=script(engine, {0.5: take, 1.0: Reseed(phrase), 5.0: take}))
    first, later = seen[0.5].voice("piano"), seen[5.0].voice("piano")
    assert first.seed == "pop909_003.mid" and first.kind == "piano"
    assert first.tokens_per_s is not None and first.tokens_per_s > 0
    assert later.seed == "phrase (1 notes)"  # primed at the bar line after what was rendered (beat 8, 4 s)
