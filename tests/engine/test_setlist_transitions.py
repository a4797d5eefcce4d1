"""Song changes as the engine plays them: a crossfade glides tempo and sampling and ramps velocities in;
a song "until next" plays until `Next`, and the show then ends with the songs after it."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import mido
import pytest
from engine_helpers import assert_no_hanging_notes, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.jump import Next
from encore.engine.commands.reseed import Reseed
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import TEMPO_TRACK
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show, song_plans
from encore.engine.sinks.base import MemorySink
from encore.engine.songs import FADE_FROM, Crossfade, SongPlan
from encore.engine.voices.pattern import PatternVoice
from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.models.sampling_config import SamplingConfig

QUARTERS = tuple(NoteEvent(float(i), 60, 100, 0.5) for i in range(4))
"""A new seed for the pattern voice: a quarter note on every beat at velocity 100."""
OLD = SamplingConfig(temperature=1.0, top_p=0.9, repetition_window=32)
NEW = SamplingConfig(temperature=0.6, top_p=0.5, repetition_window=16)


class PianoTwin(PatternVoice):
    """A pattern voice named like the piano, taking phrases as seeds: eighths at velocity 80.

    Not revisable: what a crossfade does is tested here, not how revisions re-render around a seed.
    """

    revisable = False

    def __init__(self) -> None:
        super().__init__("piano", 0, [NoteEvent(i * 0.5, 72, 80, 0.4) for i in range(8)], 4.0)


def fade_show(fade_bars: int = 2) -> tuple[Engine, MemorySink, list[tuple[float, SamplingConfig]]]:
    """Song A (4 bars, 120 bpm) then song B (4 bars, 60 bpm) crossfading in over `fade_bars` bars,
    played offline; returns the engine, its events and the voice's sampling at every tick."""
    songs = (
        SongPlan("A", 16.0, (), 120.0, (("piano", OLD),)),
        SongPlan("B", 16.0, (Reseed(QUARTERS, "piano"),), 60.0, (("piano", NEW),),
                 Crossfade(4.0 * fade_bars, ("piano",))),
    )
    sink, voice = MemorySink(), PianoTwin()
    voice.sampling = OLD
    engine = Engine([voice], [sink], EngineConfig(bpm=120.0), now=VirtualClock(), songs=songs)
    seen: list[tuple[float, SamplingConfig]] = []
    engine.run_offline(None, on_tick=lambda _: seen.append((engine.playhead(), voice.sampling)))
    return engine, sink, seen


def test_a_crossfade_glides_the_tempo_one_step_per_beat_from_the_old_song_to_the_new() -> None:
    engine, sink, _ = fade_show()
    tempos = [(e.beat, mido.tempo2bpm(int.from_bytes(bytes(e.message[3:6]), "big")))
              for e in sink.events if e.track == TEMPO_TRACK]
    glide = [(beat, bpm) for beat, bpm in tempos if beat >= 16.0]
    assert [beat for beat, _ in glide] == [16.0 + k for k in range(8)]
    assert [bpm for _, bpm in glide] == pytest.approx([120.0 - 60.0 * (k + 1) / 8 for k in range(8)], abs=0.01)
    # The tempo map agrees: 16 beats at 120, the 8 fading beats at their own tempos, 8 more at 60.
    expected = 8.0 + sum(60.0 / (120.0 - 60.0 * (k + 1) / 8) for k in range(8)) + 8.0
    assert engine.clock.time_at(32.0) == pytest.approx(expected)


def test_a_crossfade_ramps_the_new_songs_velocities_up_from_half() -> None:
    _, sink, _ = fade_show()
    ons = note_ons(sink.events, "piano")
    old = [e for e in ons if e.beat < 16.0]
    new = [(e.beat, e.message[2]) for e in ons if e.beat >= 16.0]
    assert {e.message[2] for e in old} == {80} and {e.message[1] for e in old} == {72}
    assert [beat for beat, _ in new] == [16.0 + k for k in range(16)]  # the new seed, from the song's start
    assert [velocity for _, velocity in new] == [round(100 * (FADE_FROM + (1 - FADE_FROM) * k / 8)) for k in range(8)] + [100] * 8
    assert_no_hanging_notes(sink.events)


def test_a_crossfade_glides_sampling_settings_and_ends_on_the_new_songs() -> None:
    _, _, seen = fade_show()
    temperatures = [config.temperature for _, config in seen]
    assert temperatures[0] == OLD.temperature and temperatures[-1] == pytest.approx(NEW.temperature)
    assert all(b <= a + 1e-12 for a, b in zip(temperatures, temperatures[1:], strict=False))  # never back up
    assert sorted({round(t, 4) for t in temperatures}, reverse=True) == [1.0, 0.8, 0.6]  # a step per bar
    assert {config.top_p for _, config in seen} == {0.9, 0.7, 0.5}
    first = {t: next(beat for beat, config in seen if config.temperature == pytest.approx(t)) for t in (0.8, 0.6)}
    assert first[0.6] - first[0.8] == pytest.approx(4.0, abs=0.1)  # a bar apart (each applied ahead of its bar)
    assert seen[-1][1].repetition_window == 16 and isinstance(seen[-1][1].repetition_window, int)


def test_a_cut_switches_everything_at_the_songs_first_beat() -> None:
    songs = (SongPlan("A", 8.0, (), 120.0), SongPlan("B", 8.0, (Reseed(QUARTERS, "piano"),), 60.0))
    sink = MemorySink()
    engine = Engine([PianoTwin()], [sink], EngineConfig(bpm=120.0), now=VirtualClock(), songs=songs)
    engine.run_offline(None)
    tempos = [e.beat for e in sink.events if e.track == TEMPO_TRACK]
    assert tempos == [0.0, 8.0]
    assert {e.message[2] for e in note_ons(sink.events) if e.beat >= 8.0} == {100}


@pytest.mark.timeout(120)
def test_a_song_until_next_plays_until_next_and_the_show_ends_with_the_songs_after_it() -> None:
    songs = (SongPlan("jam", math.inf, (), 120.0), SongPlan("coda", 8.0, (Reseed(QUARTERS, "piano"),), 120.0))
    sink = MemorySink()
    engine = Engine([PianoTwin()], [sink], EngineConfig(bpm=120.0), now=VirtualClock(), songs=songs)
    assert engine.snapshot().next_song.start_beat == math.inf
    assert engine.snapshot().to_dict()["next_song"]["start_beat"] is None  # JSON has no infinity
    sent = []

    def at_tick(show_time: float) -> None:
        if show_time >= 20.0 and not sent:  # 40 beats in: far past any fixed length
            sent.append(engine.submit(Next()))

    report = engine.run_offline(None, on_tick=at_tick)
    start = engine.songs.starts[1]
    assert start % 4.0 == 0.0 and 40.0 <= start <= 48.0  # a bar line just after the Next
    assert report.beats == pytest.approx(start + 8.0)
    ons = note_ons(sink.events)
    assert {e.message[1] for e in ons if e.beat < start} == {72} and {e.message[1] for e in ons if e.beat >= start} == {60}


SETLIST = """
[piano]
checkpoint = "tiny"
[[songs]]
name = "Jam"
seed = "{seed}"
bars = "until next"
tempo = 100
[[songs]]
seed = "{seed}"
bars = 2
tempo = 80
transition = "crossfade"
crossfade_bars = 1
temperature = 0.7
"""


def test_a_setlist_until_next_needs_seconds_offline_and_plans_a_crossfade(tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parents[2] / "setlists" / "seeds" / "pop909_003.mid"
    (tmp_path / "set.toml").write_text(SETLIST.format(seed=seed))
    setlist = load_setlist(tmp_path / "set.toml")
    assert setlist.songs[0].bars is None and setlist.song_starts() == [0.0, math.inf]
    assert setlist.seconds() == math.inf and setlist.open_song() == 0
    jam, second = song_plans(setlist)
    assert jam.beats == math.inf and second.crossfade == Crossfade(4.0, ("piano",))
    assert second.tempo == 80.0 and dict(second.sampling)["piano"].temperature == 0.7
    with pytest.raises(EncoreError, match=r'^song 1 \(Jam\) plays until next: an offline show needs --seconds'):
        Show.build(setlist, PlayOptions(headless=True))
    show = Show.build(setlist, PlayOptions(headless=True, seconds=2.0, record=tmp_path / "jam.mid"))
    report = asyncio.run(show.perform())
    assert report.seconds == pytest.approx(2.0) and report.notes_sent > 0
