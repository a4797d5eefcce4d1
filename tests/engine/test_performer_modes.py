"""Playing with a performer on the engine's virtual clock: the wire commands, the setlist, the recording's
performer track, call and response, the duet's context and re-render, and drums following the player.

The real-time path (a JACK keyboard into `--midi-in`) is `tests/stage/controllers/test_performer_jack.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import mido
import pytest

from encore.engine.commands.performing import PerformerNote, Respond, SetPerformer
from encore.engine.control import CommandError
from encore.engine.engine import Engine
from encore.engine.performer import PERFORMER_TRACK
from encore.engine.setlist import SetlistError, load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.sinks.base import MemorySink
from encore.engine.wire import from_json, to_dict

SEED = Path(__file__).resolve().parents[2] / "setlists" / "seeds" / "pop909_003.mid"
BAR_BEATS = 4.0


def write_setlist(folder: Path, performer: str, drums: bool = False, songs: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    drum_table = '[drums]\ncheckpoint = "factorized"\nmode = "library"\ngroove = "rock"\n' if drums else ""
    path = folder / "set.toml"
    path.write_text(f'[piano]\ncheckpoint = "tiny"\nsampling_seed = 3\n{drum_table}[performer]\n{performer}\n'
                    f'[[songs]]\nseed = "{SEED}"\ntempo = 120\nbars = 16\n{songs}', encoding="utf-8")
    return path


def build(folder: Path, performer: str, drums: bool = False, record: bool = True) -> tuple[Show, MemorySink]:
    options = PlayOptions(headless=True, seconds=14.0, record=folder / "set.mid" if record else None)
    show = Show.build(load_setlist(write_setlist(folder, performer, drums)), options)
    sink = MemorySink()
    show.engine.router.sinks.append(sink)  # what every output is sent, besides the recording
    return show, sink


def at_times(engine: Engine, plan: list[tuple[float, Callable[[], object]]]) -> Callable[[float], None]:
    pending = sorted(plan, key=lambda item: item[0])

    def hook(now: float) -> None:
        while pending and now >= pending[0][0] - 1e-9:
            pending.pop(0)[1]()

    return hook


def play(engine: Engine, notes: list[tuple[float, int, float]], velocity: int = 90) -> list[tuple[float, Callable[[], object]]]:
    """Key down and up at show beats (`(beat, pitch, duration)`), each submitted at its own time (120 bpm)."""
    plan: list[tuple[float, Callable[[], object]]] = []
    for beat, pitch, duration in notes:
        plan.append((beat / 2.0, lambda b=beat, p=pitch: engine.submit(PerformerNote(p, velocity, b))))
        plan.append(((beat + duration) / 2.0, lambda b=beat + duration, p=pitch: engine.submit(PerformerNote(p, 0, b))))
    return plan


def piano_onsets(sink: MemorySink) -> list[tuple[float, int]]:
    return [(round(e.beat, 4), e.message[1]) for e in sink.events if e.track == "piano" and e.is_note_on]


# The wire format and the setlist ------------------------------------------------------------------------


def test_the_performer_commands_round_trip_and_bad_values_are_one_line() -> None:
    for command in (SetPerformer("duet"), PerformerNote(60, 90, 12.5), PerformerNote(60, 0, 13.0), Respond()):
        assert from_json(json.dumps(to_dict(command))) == command
    assert to_dict(PerformerNote(61, 0, 2.0)) == {"command": "note", "pitch": 61, "velocity": 0, "beat": 2.0}
    for text, reason in [('{"command": "performer", "mode": "solo"}', "performer.mode: must be one of off, "),
                         ('{"command": "note", "pitch": 128, "velocity": 9, "beat": 1}', "note.pitch: must be an integer"),
                         ('{"command": "note", "pitch": 60, "beat": 1}', "note: missing field 'velocity'"),
                         ('{"command": "respond", "now": true}', "respond: unknown field 'now'")]:
        with pytest.raises(CommandError, match="^" + re.escape(reason)):
            from_json(text)


def test_setlist_performer_table_and_song_field(tmp_path: Path) -> None:
    setlist = load_setlist(write_setlist(tmp_path, 'mode = "duet"\nsilence_s = 1.5', songs='performer = "off"\n'))
    assert (setlist.performer.mode, setlist.performer.silence_s, setlist.songs[0].performer) == ("duet", 1.5, "off")
    with pytest.raises(SetlistError, match=r'set.toml:5: \[performer\]: mode "drums-follow" needs a \[drums\] voice'):
        load_setlist(write_setlist(tmp_path, 'mode = "drums-follow"'))
    with pytest.raises(SetlistError, match=r"set.toml:5: \[performer\]: mode must be one of off, call-response, duet, drums-follow, got \"jam\""):
        load_setlist(write_setlist(tmp_path, 'mode = "jam"'))


def test_a_mode_the_show_cannot_play_is_rejected(tmp_path: Path) -> None:
    show, _ = build(tmp_path, 'mode = "off"', record=False)
    ticket = show.submit(SetPerformer("drums-follow"))
    assert ticket.result(0).reason == "performer: mode drums-follow needs a drum voice (voices: piano)"
    show.engine.run_offline(1.0)


# The recording --------------------------------------------------------------------------------------------


def test_the_performers_notes_are_recorded_on_their_own_track_and_sent_nowhere_else(tmp_path: Path) -> None:
    show, sink = build(tmp_path, 'mode = "off"\nchannel = 3')
    engine = show.engine
    played = [(2.0, 60, 1.0), (3.5, 64, 0.5), (5.25, 67, 2.0)]
    engine.run_offline(6.0, on_tick=at_times(engine, play(engine, played)))
    assert not [e for e in sink.events if e.track == PERFORMER_TRACK]  # not echoed to the outputs
    midi = mido.MidiFile(tmp_path / "set.mid")
    tracks = {track.name: track for track in midi.tracks}
    assert set(tracks) == {"tempo", "piano", PERFORMER_TRACK}
    tick, notes, starts = 0, [], {}
    for message in tracks[PERFORMER_TRACK]:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0:
            starts[message.note] = tick
            assert message.channel == 2
        elif message.type in ("note_off", "note_on"):
            notes.append((starts.pop(message.note) / midi.ticks_per_beat, message.note, tick / midi.ticks_per_beat))
    assert sorted(notes) == [(beat, pitch, beat + duration) for beat, pitch, duration in played]
    journal = (tmp_path / "set.journal").read_text(encoding="utf-8")
    assert journal.count(f'"tr":"{PERFORMER_TRACK}"') == 2 * len(played)


# Call and response ----------------------------------------------------------------------------------------


def test_call_and_response_rests_during_the_call_and_continues_it_at_the_next_beat(tmp_path: Path) -> None:
    show, sink = build(tmp_path, 'mode = "call-response"\nsilence_s = 0')
    engine = show.engine
    call = [(8.0, 60, 0.5), (8.5, 62, 0.5), (9.0, 64, 0.5), (9.5, 65, 1.0)]
    plan = play(engine, call)
    plan.append((5.6, lambda: engine.submit(Respond())))  # the pedal at beat 11.2
    seeds: list[str | None] = []
    plan.append((5.5, lambda: seeds.append(engine.voices["piano"].seed_name)))
    plan.append((6.5, lambda: seeds.append(engine.voices["piano"].seed_name)))
    engine.run_offline(10.0, on_tick=at_times(engine, plan))
    onsets = piano_onsets(sink)
    # The commit horizon of the first key (beat 8) is beat 8.2; the pedal's is 11.4, its next beat 12.
    assert not [beat for beat, _ in onsets if 8.2 <= beat < 12.0]
    assert [beat for beat, _ in onsets if beat < 8.0] and [beat for beat, _ in onsets if beat >= 12.0]
    assert seeds == ["pop909_003.mid", "phrase (4 notes)"]


def test_a_call_ends_after_its_silence(tmp_path: Path) -> None:
    show, sink = build(tmp_path, 'mode = "call-response"\nsilence_s = 1.0')
    engine = show.engine
    engine.run_offline(10.0, on_tick=at_times(engine, play(engine, [(8.0, 60, 0.5), (9.0, 67, 1.0)])))
    onsets = [beat for beat, _ in piano_onsets(sink)]
    # The last key goes up at beat 10 (5 s); 1 s of silence later (beat 12, +0.2 commit) the piano answers at 13.
    assert not [beat for beat in onsets if 8.2 <= beat < 13.0] and [beat for beat in onsets if beat >= 13.0]
    assert engine.voices["piano"].seed_name == "phrase (2 notes)"


def test_respond_is_rejected_outside_call_and_response_or_with_nothing_played(tmp_path: Path) -> None:
    show, _ = build(tmp_path, 'mode = "call-response"', record=False)
    engine = show.engine
    tickets = []
    plan = [(1.0, lambda: tickets.append(engine.submit(Respond()))),
            (1.5, lambda: engine.submit(SetPerformer("duet"))),
            (2.0, lambda: tickets.append(engine.submit(Respond())))]
    engine.run_offline(3.0, on_tick=at_times(engine, plan))
    assert [ticket.result(0).reason for ticket in tickets] == [
        "respond: nothing played to respond to", "respond: the performer mode is duet, not call-response"]


# Duet -----------------------------------------------------------------------------------------------------


def duet_run(folder: Path, notes: list[tuple[float, int, float]]) -> tuple[list[tuple[float, int]], list[str]]:
    show, sink = build(folder, 'mode = "duet"', record=False)
    engine = show.engine
    stream = engine.voices["piano"].stream
    # The tiny random piano kept from stacking dozens of notes on one onset (a re-render returns once its
    # first onset is complete), so the steps read just after each key still hold the note laid in.
    stream.logit_bias = -1.5 * stream.is_pitch.float()
    context: list[str] = []
    vocab = {i: name for name, i in engine.voices["piano"].stream.bundle.tokenizer.vocab.items()}

    def read_context() -> None:
        stream = engine.voices["piano"].stream
        context.extend(vocab[mark.last_tokens[0]] for mark in list(stream.history)[1:])

    reads = [(beat / 2.0 + 0.02, read_context) for beat, _, _ in notes]  # just after each key went down
    engine.run_offline(8.0, on_tick=at_times(engine, [*play(engine, notes, velocity=101), *reads]))
    return piano_onsets(sink), context


def test_duet_puts_the_performers_notes_into_the_context_and_renders_the_lookahead_again(tmp_path: Path) -> None:
    alone, _ = duet_run(tmp_path / "alone", [])
    with_performer, context = duet_run(tmp_path / "duet", [(8.0, 61, 1.0), (9.5, 66, 0.5)])
    # The performer's notes are in the piano's context (where: `test_insert_notes_places_...`).
    text = " ".join(context)
    assert "Pitch_61 Velocity_101" in text and "Pitch_66 Velocity_101" in text
    # Before the first note's commit horizon (beat 8.2) the piano played what it plays alone; after it, not.
    assert [n for n in with_performer if n[0] < 8.2] == [n for n in alone if n[0] < 8.2]
    assert [n for n in with_performer if n[0] >= 8.2] != [n for n in alone if n[0] >= 8.2]
    assert [n for n in with_performer if n[0] >= 8.2]


# Drums follow ---------------------------------------------------------------------------------------------


def test_drums_follow_the_performers_rhythm(tmp_path: Path) -> None:
    show, sink = build(tmp_path, 'mode = "drums-follow"', drums=True, record=False)
    engine = show.engine
    steps = (0, 3, 6, 10)  # a 3-3-4 figure in 16ths, every bar
    notes = [(bar * BAR_BEATS + step / 4.0, 60, 0.2) for bar in range(0, 7) for step in steps]
    engine.run_offline(14.0, on_tick=at_times(engine, play(engine, notes)))
    drum_onsets = [e.beat for e in sink.events if e.track == "drums" and e.is_note_on]
    # Windows decoded once two bars of the figure were played (from beat 16 on) strike only on its steps
    # (microtiming within a 16th either side), and on most of them.
    followed = [beat for beat in drum_onsets if 16.0 <= beat < 28.0]
    assert followed
    on_figure = [beat for beat in followed if min(abs((beat % BAR_BEATS) * 4 - s) for s in (*steps, 16)) <= 1.0]
    assert len(on_figure) == len(followed)
    assert {round((beat % BAR_BEATS) * 4) % 16 for beat in followed} >= {0, 3, 6, 10}


def test_insert_notes_places_the_performers_notes_at_their_beats_and_keeps_what_came_before() -> None:
    import torch

    from encore.models.notes import NoteEvent
    from encore.models.piano.checkpoint import PianoBundle
    from encore.models.piano.duet import insert_notes
    from encore.models.piano.stream import PianoStream
    from encore.models.piano.streaming_decoder import StreamingDecoder

    torch.manual_seed(0)
    stream = PianoStream(PianoBundle.random(preset="tiny"), seed=5)
    stream.enable_rewind(512)
    stream.prime_midi(SEED)
    start = stream.position_beats
    before = stream.generate_until(start + 6.0)
    mark, reached = list(stream.history)[0], stream.position_beats
    assert mark.position_beats < start + 3.0  # the stream remembers back past the performer's notes
    played = [NoteEvent(start + 3.0, 61, 101, 1.0), NoteEvent(start + 3.52, 66, 80, 0.5)]
    void = insert_notes(stream, played, start + 3.6)
    assert void is not None and start + 3.6 <= void <= reached
    decoder = StreamingDecoder(stream.decoders[0].table)
    decoder.restore(mark.decoders[0])
    tokens = [later.last_tokens[0] for later in list(stream.history)[1:]] + [stream.last_tokens[0]]
    decoded = decoder.feed_many(tokens)
    assert decoder.position_beats == stream.position_beats == void
    ours = [(n.onset_beats - start, n.pitch, n.velocity) for n in decoded if n.pitch in (61, 66) and n.velocity in (101, 82)]
    assert (3.0, 61, 101) in ours and (3.5, 66, 82) in ours  # 3.52 on the 32nd grid; velocity 80 -> token 82
    model_notes = [n for n in decoded if n not in [d for d in decoded if (d.pitch, d.velocity) in ((61, 101), (66, 82))]]
    assert model_notes == [n for n in before if n.onset_beats < void][-len(model_notes):]


@pytest.mark.parametrize("room", [None, 5], ids=["no roll", "rolls after 5 tokens"])
def test_feed_forced_matches_forcing_one_token_at_a_time(room: int | None) -> None:
    import torch

    from encore.models.piano.checkpoint import PianoBundle
    from encore.models.piano.stream import PianoStream

    bundle = PianoBundle.random(preset="tiny")
    streams = []
    for _ in range(3):
        stream = PianoStream(bundle, seed=11)
        stream.enable_rewind(512)
        stream.prime_midi(SEED)
        stream.generate_until(stream.position_beats + 2.0)
        if room is not None:  # sample on until the cache has `room` slots left before it rolls
            while stream.cache.max_length - stream.cache.length > room:
                stream.step()
        streams.append(stream)
    batched, single, donor = streams
    rolls = batched.cache.rolls
    tokens = []
    for _ in range(12):  # what the model would sample next: a well-formed run of tokens
        donor.step()
        tokens.append(donor.last_tokens[0])
    notes = batched.feed_forced(tokens)
    stepped = [n for token in tokens for n in single.step_batch(forced=torch.tensor([token]))[0]]
    assert notes == stepped and batched.position_beats == single.position_beats
    assert torch.allclose(batched.logits, single.logits, atol=1e-4)
    assert batched.cache.rolls == single.cache.rolls == rolls + (room is not None)
    assert [m.last_tokens for m in batched.history] == [m.last_tokens for m in single.history]
    assert [m.cache for m in batched.history] == [m.cache for m in single.history]
    for mine, theirs in zip(list(batched.history)[-12:], list(single.history)[-12:], strict=True):
        assert torch.allclose(mine.logits, theirs.logits, atol=1e-4) and mine.clean == theirs.clean
    # A rewind into the forced tokens lands where it would have.
    assert batched.rewind_to(batched.position_beats - 0.5) == single.rewind_to(single.position_beats - 0.5)
    assert torch.allclose(batched.logits, single.logits, atol=1e-4)
