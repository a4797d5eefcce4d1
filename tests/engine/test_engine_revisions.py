"""The revisable lookahead on the virtual clock: a change sounds from the commit horizon, what was taken
back is never sent, what was sent is never taken back, and under 1,000 random controls every note closes
and none sounds twice. Real models (the tiny random piano, the shipped groove VAE), no mocks."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import mido
import pytest
from engine_helpers import assert_no_hanging_notes, note_ons

from encore.engine.clock import VirtualClock
from encore.engine.commands.groove import SetGroove
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic
from encore.engine.control import Command
from encore.engine.engine import Engine, EngineConfig
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.engine.sinks.recorder import RecorderSink
from encore.engine.voices.base import Voice
from encore.engine.voices.drums import DrumPart, DrumVoice
from encore.engine.voices.note_tap import NoteTap
from encore.engine.voices.pattern import PatternVoice, click_pattern
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"
FOREVER = 1e9
"""A tap that forgets nothing: what a voice finally stands by, after every revision."""

SHOW_S = 60.0
"""The random-controls show: 1,000 controls in a minute, one every 60 ms on average."""

Note = tuple[str, int, int, float]
"""(track, pitch, velocity, onset beat) of a note, sent or rendered."""


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_piano(seed: int = 0) -> PianoVoice:
    """The tiny random piano, kept from stacking dozens of notes on one position (a logit bias against
    pitches: about four notes a beat at temperatures 0.8-1.6), remembering enough steps to reach back a
    bar and a beat whatever it plays."""
    from encore.models.piano.checkpoint import PianoBundle
    from encore.models.piano.stream import PianoStream

    stream = PianoStream(PianoBundle.random("tiny"), seed=seed)
    stream.logit_bias = -1.5 * stream.is_pitch.float()
    voice = PianoVoice(stream, SEED, rewind_tokens=4096)
    voice.tap = NoteTap(FOREVER)
    return voice


def operator(engine_ref: list[Engine], script: list[tuple[float, Command]]) -> Callable[[float], None]:
    """An on_tick hook that submits each scripted command at the first tick at or after its time."""
    pending = sorted(script, key=lambda item: item[0])

    def hook(now: float) -> None:
        while pending and pending[0][0] <= now:
            engine_ref[0].submit(pending.pop(0)[1])

    return hook


def sent_notes(events: list[MidiEvent]) -> Counter[Note]:
    return Counter((e.track, e.message[1], e.message[2], e.beat) for e in note_ons(events))


def final_notes(voice: Voice, before_beat: float) -> Counter[Note]:
    """The notes a voice stands by after every revision (its tap), starting before `before_beat`."""
    assert voice.tap is not None
    return Counter((voice.name, n.pitch, min(max(n.velocity, 1), 127), n.onset_beats)
                   for n in voice.tap.read(-FOREVER, before_beat))


@pytest.mark.parametrize(("commit_s", "commit_min_s"), [(0.1, None), (0.1, 0.05), (None, None)])
def test_a_sampling_change_sounds_from_the_commit_horizon(commit_s: float | None, commit_min_s: float | None) -> None:
    """With revisions, each change is heard at the first note after the horizon (100 ms), or, reaching back,
    after 50 ms (renders take no show time here): every note sent is one the piano stands by, and every
    note it stands by was sent. Without, after the lookahead."""
    piano, sink, ref = tiny_piano(), MemorySink(), []
    config = EngineConfig(bpm=120.0, commit_s=commit_s, commit_min_s=commit_min_s)
    engine = Engine([piano], [sink], config, now=VirtualClock())
    ref.append(engine)
    times = [2.0, 3.33, 4.05, 6.5]
    changes = [SetSampling(temperature=t, top_p=p) for t, p in [(1.5, 0.9), (0.9, 0.6), (1.2, 1.0), (0.8, 0.8)]]
    report = engine.run_offline(9.0, on_tick=operator(ref, list(zip(times, changes, strict=True))))
    assert report.counts.underruns == 0 and len(report.control_latencies) == len(times)
    onsets = sorted(e.time for e in note_ons(sink.events))
    for at, latency in zip(times, report.control_latencies, strict=True):
        if commit_s is None:
            assert latency.seconds >= 1.5  # what was rendered (a bar ahead) played out first
        else:
            first = next(t for t in onsets if t >= at + (commit_min_s or commit_s) - 1e-9)
            assert latency.seconds == pytest.approx(first - at, abs=0.011)
    end_beat = report.beats
    assert sent_notes(sink.events) == final_notes(piano, end_beat)
    assert_no_hanging_notes(sink.events)
    if commit_s is not None:
        assert piano.tokens > piano.stream.tokens_generated  # it did re-render what it took back


class CountedVoice(PatternVoice):
    """A pattern voice that says a re-render of an onset takes 3 steps a note and one more."""

    def answer_tokens(self, notes: int) -> int | None:
        return 3 * notes + 1


@pytest.mark.parametrize(("commit_min_s", "speed", "expected"), [
    (0.05, 400.0, 0.1875),  # the 4-note chord at 62.5 ms needs 69 ms; the note at 93.75 ms needs 35
    (0.05, 2000.0, 0.125),  # fast enough for the chord (36 ms)
    (0.05, None, 0.2),  # no decoding speed measured yet: the commit horizon
    (None, 400.0, 0.2),  # reaching back off
])
def test_a_real_time_change_reaches_back_to_the_first_onset_the_voice_can_render_again_in_time(
        commit_min_s: float | None, speed: float | None, expected: float) -> None:
    """Queued at 120 bpm: a note at 31.25 ms (before the 50-ms floor), a 4-note chord at 62.5 ms, a note
    at 93.75 ms, the 100-ms horizon at beat 0.2. The change is heard from the first onset whose notes the
    voice can render again before they are due, at its measured decoding speed (tokens a second)."""
    voice = CountedVoice("keys", 0, [NoteEvent(0.0, 60, 80, 0.1)], 4.0)
    clock_now = [0.0]
    engine = Engine([voice], [MemorySink()], EngineConfig(bpm=120.0, commit_min_s=commit_min_s), now=lambda: clock_now[0])
    engine.decoding.speed = lambda name: speed  # type: ignore[method-assign]
    notes = [NoteEvent(0.0625, 50, 80, 0.1)] + [NoteEvent(0.125, p, 80, 0.1) for p in (60, 64, 67, 72)]
    engine.scheduler.schedule("keys", 0, [*notes, NoteEvent(0.1875, 62, 80, 0.1), NoteEvent(0.25, 65, 80, 0.1)], 0.0)
    assert engine.horizon.revision_beat(voice) == pytest.approx(expected)
    clock_now[0] = 0.1  # later, the horizon moves on and the notes before it are final
    assert engine.horizon.revision_beat(voice) >= engine.clock.beat_at(0.1 + (commit_min_s or 0.1)) - 1e-9


def test_notes_already_sounding_keep_their_note_offs_and_nothing_sent_is_taken_back() -> None:
    """A long note starts before the horizon and ends after it: a revision leaves it and its note-off be,
    and re-renders only from the horizon (a pattern voice: the re-render is the same notes)."""
    long_notes = [NoteEvent(0.0, 48, 90, 3.5), NoteEvent(1.0, 60, 80, 0.5), NoteEvent(2.0, 62, 80, 0.5),
                  NoteEvent(3.0, 64, 80, 0.5)]
    voice = PatternVoice("keys", 0, long_notes, 4.0)
    voice.tap = NoteTap(FOREVER)
    sink, ref = MemorySink(), []
    engine = Engine([voice], [sink], EngineConfig(bpm=120.0), now=VirtualClock())
    ref.append(engine)
    script: list[tuple[float, Command]] = [(t, SetSampling(temperature=1.1)) for t in (0.6, 0.85, 2.4, 2.45, 2.5)]
    engine.run_offline(6.0, on_tick=operator(ref, script))
    ons = note_ons(sink.events)
    assert [(e.beat, e.message[1]) for e in ons] == [(b + o, p) for b in (0.0, 4.0, 8.0) for o, p in
                                                     [(0.0, 48), (1.0, 60), (2.0, 62), (3.0, 64)]]
    offs = [(e.beat, e.message[1]) for e in sink.events if e.is_note_off and e.time < 5.9]
    assert (3.5, 48) in offs and (7.5, 48) in offs  # the long notes ended on time, not at a revision
    assert sent_notes(sink.events) == final_notes(voice, 12.0)
    assert_no_hanging_notes(sink.events)


def test_a_reseed_starts_at_the_first_bar_line_after_the_horizon() -> None:
    """At 2.3 s (beat 4.6) the piano has rendered past beat 8; the seed is primed where the rewind to bar
    line 8 lands (8 itself unless this random model's bars run otherwise), not after the bar rendered."""
    piano, sink, ref = tiny_piano(), MemorySink(), []
    primed_at: list[float] = []
    prime_notes = piano.stream.prime_notes

    def watched(notes: list[NoteEvent]) -> list[NoteEvent]:  # the real prime, with the beat it starts at noted
        primed_at.append(piano.position_beats)
        return prime_notes(notes)

    piano.stream.prime_notes = watched  # type: ignore[method-assign]
    engine = Engine([piano], [sink], EngineConfig(bpm=120.0), now=VirtualClock())
    ref.append(engine)
    phrase = (NoteEvent(0.0, 100, 99, 1.0), NoteEvent(1.0, 101, 99, 1.0))
    report = engine.run_offline(10.0, on_tick=operator(ref, [(2.3, Reseed(phrase))]))
    assert piano.seed_name == "phrase (2 notes)" and len(primed_at) == 1
    assert 8.0 <= primed_at[0] < 12.0
    first_new = min(e.time for e in note_ons(sink.events) if e.beat >= primed_at[0])
    assert report.control_latencies[0].seconds == pytest.approx(first_new - 2.3, abs=0.011)
    assert sent_notes(sink.events) == final_notes(piano, report.beats)
    assert_no_hanging_notes(sink.events)


def random_command(rng: random.Random) -> Command:
    """One random control of a show with a piano, drums following it and a click (mutes and solos lean
    towards letting every voice be heard, so there is plenty to check)."""
    kind = rng.choices(["sampling", "reseed", "groove", "tempo", "mute", "solo", "panic"],
                       [35, 8, 15, 10, 12, 12, 4])[0]
    voice = rng.choice(["piano", "drums", "click"])
    match kind:
        case "sampling":
            return SetSampling(rng.choice(["piano", "drums", None]), temperature=round(rng.uniform(0.8, 1.6), 2),
                               top_p=round(rng.uniform(0.5, 1.0), 2), repetition_penalty=rng.choice([1.0, 1.2]))
        case "reseed":
            phrase = tuple(NoteEvent(i * rng.choice([0.25, 0.5]), rng.randrange(40, 90) + i, 90, 0.4)
                           for i in range(rng.randrange(1, 8)))
            seed = SEED if rng.random() < 0.25 else phrase
            return Reseed(seed, "piano") if voice != "click" else Reseed(phrase, "click")
        case "groove":
            mode = rng.choice(["library", "pattern", "follow-piano"])
            pattern = {"kick": rng.sample(range(32), 4), "snare": rng.sample(range(32), 3)}
            return SetGroove(mode, rng.choice(["rock", "funk", "pop", None]), pattern if mode == "pattern" else None)
        case "tempo":
            return SetTempo(round(rng.uniform(70.0, 180.0), 1))
        case "mute":
            return Mute(voice, rng.random() < 0.3)
        case "solo":
            return Solo(voice, rng.random() < 0.15)
    return Panic()


def test_a_thousand_random_controls_close_every_note_and_send_none_twice(tmp_path: Path) -> None:
    from encore.models.groove.library import load_library
    from encore.models.groove.model import GrooveModel

    rng = random.Random(2026)
    piano = tiny_piano(seed=3)
    drums = DrumVoice(GrooveModel.load("factorized"), load_library(), DrumPart("follow-piano", "pop"),
                      follow=piano.tap)
    drums.tap = NoteTap(FOREVER)
    click = PatternVoice("click", 1, click_pattern(4, 0.5), 4.0)
    click.tap = NoteTap(FOREVER)
    sink, recording = MemorySink(), RecorderSink(tmp_path / "show.mid")
    config = EngineConfig(bpm=120.0, lookahead_bars=0.25, render_chunk_beats=0.25)  # a beat: less to re-render
    engine = Engine([piano, drums, click], [sink, recording], config, now=VirtualClock())
    ref = [engine]
    script = [(round(rng.uniform(0.5, SHOW_S - 1.0), 2), random_command(rng)) for _ in range(1000)]
    results: list[object] = []
    engine.subscribe(results.append)
    report = engine.run_offline(SHOW_S, on_tick=operator(ref, script))

    assert len(results) == 1000 and not report.voice_failures and report.counts.underruns == 0
    assert sum(type(r).__name__ == "Applied" for r in results) > 900
    events = sink.events
    assert_no_hanging_notes(events)  # every note closed, each key strictly on, off, on, off
    sent = sent_notes(events)
    for voice in (piano, drums, click):  # nothing sent that the voice took back, nothing sent twice
        stands = final_notes(voice, report.beats + 1)
        mine = Counter({note: count for note, count in sent.items() if note[0] == voice.name})
        assert mine <= stands, f"{voice.name}: sent but not stood by: {list((mine - stands).elements())[:5]}"
        assert sum(mine.values()) > 20  # and there was something to check (mutes and solos silence some)
    recorded = recorded_notes(tmp_path / "show.mid")
    assert recorded == Counter((track, pitch, round(beat * 480)) for track, pitch, _, beat in sent.elements())


def recorded_notes(path: Path) -> Counter[tuple[str, int, int]]:
    """(track, pitch, tick) of every note-on in a recorded MIDI file."""
    notes: Counter[tuple[str, int, int]] = Counter()
    for track in mido.MidiFile(path).tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                notes[(track.name, message.note, tick)] += 1
    return notes
