"""A performer on a real JACK keyboard into `--midi-in` of a real-time show: call and response after the pedal
(CC 67), the duet's context, drums following the played rhythm, and the performer's track in the recording.

Timing assertions are loose (the machine is loaded): they hold on order and content, with a beat or so of slack.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest

from encore.engine.performer import PERFORMER_TRACK
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.sinks.base import MemorySink
from tests.stage.controllers.test_controller_jack import CLIENT, JackController, perform, surface_for, until

SEED = Path(__file__).resolve().parents[3] / "setlists" / "seeds" / "pop909_003.mid"


@pytest.fixture
def keyboard(jack_server: str) -> Iterator[JackController]:
    device = JackController()
    yield device
    device.close()


def live_show(folder: Path, performer: str, tempo: float = 120.0, drums: bool = False) -> tuple[Show, MemorySink]:
    drum_table = '[drums]\ncheckpoint = "factorized"\nmode = "library"\ngroove = "rock"\n' if drums else ""
    path = folder / "set.toml"
    path.write_text(f'[piano]\ncheckpoint = "tiny"\n{drum_table}[performer]\n{performer}\n'
                    f'[[songs]]\nseed = "{SEED}"\ntempo = {tempo}\nbars = 64\n', encoding="utf-8")
    show = Show.build(load_setlist(path), PlayOptions(headless=True, realtime=True, seconds=60.0,
                                                      record=folder / "set.mid"))
    sink = MemorySink()
    show.engine.router.sinks.append(sink)
    return show, sink


def play_at_beats(show: Show, keyboard: JackController, notes: list[tuple[float, int, float]]) -> None:
    """Play `(beat, pitch, beats held)` on the keyboard at those show beats (a thread of its own: on time)."""
    engine = show.engine
    events = sorted([(beat, pitch, 90) for beat, pitch, _ in notes] + [(beat + held, pitch, 0) for beat, pitch, held in notes])
    for beat, pitch, velocity in events:
        delay = engine.clock.time_at(beat) - engine.show_time()
        if delay > 0:
            time.sleep(delay)
        (keyboard.note_on(pitch, velocity) if velocity else keyboard.note_off(pitch))


def onsets(sink: MemorySink, track: str) -> list[float]:
    return [e.beat for e in sink.events if e.track == track and e.is_note_on]


def test_call_and_response_continues_after_the_pedal_and_the_recording_has_the_performer(
        keyboard: JackController, tmp_path: Path) -> None:
    show, sink = live_show(tmp_path, 'mode = "call-response"\nsilence_s = 0')
    surface = surface_for("--midi-in", CLIENT)
    engine = show.engine
    pedal: dict[str, float] = {}
    call_start = 8.0
    call = [(call_start + i * 0.5, pitch, 0.4) for i, pitch in enumerate((60, 62, 64, 65, 67, 65))]

    async def script() -> None:
        await until(lambda: engine.playhead() >= 4.0, "beat 4")
        await asyncio.to_thread(play_at_beats, show, keyboard, call)
        await asyncio.sleep(0.3)
        pedal["beat"] = engine.playhead()
        keyboard.cc(67, 127)
        keyboard.cc(67, 0)
        await until(lambda: engine.voices["piano"].seed_name == "phrase (6 notes)", "the piano to take the call")
        answer = math.floor(pedal["beat"]) + 1.0
        await until(lambda: [b for b in onsets(sink, "piano") if b >= answer], "the piano to answer")

    perform(show, surface, script)
    piano = onsets(sink, "piano")
    assert [b for b in piano if b < call_start]  # it played before the call
    # Silent from the call's first note (its commit horizon, plus a beat of slack for a late arrival) to the
    # answer, which starts within two beats of the pedal (the commit horizon, then the next whole beat).
    answer = [b for b in piano if b > call_start + 1.0]
    assert answer and pedal["beat"] < answer[0] <= pedal["beat"] + 2.5
    midi = mido.MidiFile(tmp_path / "set.mid")
    performer = next(track for track in midi.tracks if track.name == PERFORMER_TRACK)
    pitches = [m.note for m in performer if m.type == "note_on" and m.velocity > 0]
    assert pitches == [pitch for _, pitch, _ in call]
    ticks, starts = 0, []
    for message in performer:
        ticks += message.time
        if message.type == "note_on" and message.velocity > 0:
            starts.append(ticks / midi.ticks_per_beat)
    assert all(abs(start - beat) < 0.25 for start, (beat, _, _) in zip(starts, call, strict=True))  # where played


def test_duet_takes_the_performers_notes_into_the_context_and_renders_again(keyboard: JackController,
                                                                            tmp_path: Path) -> None:
    show, sink = live_show(tmp_path, 'mode = "duet"')
    surface = surface_for("--midi-in", CLIENT)
    engine = show.engine
    piano = engine.voices["piano"]
    vocab = {i: name for name, i in piano.stream.bundle.tokenizer.vocab.items()}

    def context_after_note() -> bool:
        try:  # the voice's worker may be stepping meanwhile
            tokens = " ".join(vocab[m.last_tokens[0]] for m in list(piano.stream.history))
        except RuntimeError:
            return False
        return "Pitch_61 Velocity_" in tokens

    async def script() -> None:
        await until(lambda: engine.playhead() >= 4.0, "beat 4")
        keyboard.note_on(61, 100)
        await until(lambda: engine.performer.heard, "the piano to hear the note")
        await until(context_after_note, "the performer's note in the piano's context")
        keyboard.note_off(61)
        revised = engine.performer.heard[0][0]
        await until(lambda: [b for b in onsets(sink, "piano") if b >= revised + 1.0], "the piano to play on")

    perform(show, surface, script)
    assert len(engine.performer.heard) == 1
    assert not [e for e in sink.events if e.track == PERFORMER_TRACK]  # the performer's own instrument sounds it


def test_drums_follow_the_rhythm_the_performer_plays(keyboard: JackController, tmp_path: Path) -> None:
    show, sink = live_show(tmp_path, 'mode = "drums-follow"', tempo=200.0, drums=True)
    surface = surface_for("--midi-in", CLIENT)
    engine = show.engine
    steps = (0, 3, 6, 10)
    figure = [(bar * 4.0 + step / 4.0, 60, 0.2) for bar in range(1, 9) for step in steps]

    async def script() -> None:
        await until(lambda: engine.playhead() >= 2.0, "beat 2")
        await asyncio.to_thread(play_at_beats, show, keyboard, figure)

    perform(show, surface, script)
    # Windows (two bars) decoded after two whole bars of the figure were heard follow it.
    followed = [b for b in onsets(sink, "drums") if 24.0 <= b < 36.0]
    assert followed
    on_figure = [b for b in followed if min(abs((b % 4.0) * 4 - s) for s in (*steps, 16)) <= 1.0]
    assert len(on_figure) >= 0.9 * len(followed)
    assert {round((b % 4.0) * 4) % 16 for b in followed} & {3, 6, 10}
