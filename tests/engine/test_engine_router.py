"""The router's no-hanging-notes guarantee as a property: two tracks sharing keys, mute and solo at random.

The expected output is computed here from the input alone, by a model of the rule in
`encore.engine.router`: an audible note-on holds its key for its track until that track's note-off
for the key; the key sounds until its last audible hold is let go (a key struck while sounding is
released first, then struck again); a suppressed (muted, or not soloed) note-on and the note-off that
ends it are not sent; a track's note-off ends its audible hold if it has one, else a suppressed one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine_helpers import assert_no_hanging_notes
from hypothesis import example, given, settings
from hypothesis import strategies as st

from encore.engine.midi import CC_ALL_NOTES_OFF, CC_SUSTAIN, CONTROL_CHANGE, MidiEvent, note_off, note_on
from encore.engine.router import Router
from encore.engine.sinks.base import MemorySink

CHANNEL = 2
TRACKS = ("a", "b")
PITCHES = (60, 61)  # few keys, so the two tracks share them often
STEP_S = 0.125  # every event gets its own time, so a note-off's time says which input ended the key


@dataclass(frozen=True)
class Toggle:
    """Mute (`kind == "mute"`) or solo a track, between two events."""

    kind: str
    track: str
    on: bool


@dataclass(frozen=True)
class Key:
    """A note-on (`down`) or note-off of `track` on `pitch`."""

    track: str
    pitch: int
    down: bool


steps = st.lists(
    st.one_of(
        st.builds(Key, st.sampled_from(TRACKS), st.sampled_from(PITCHES), st.booleans()),
        st.builds(Toggle, st.sampled_from(("mute", "solo")), st.sampled_from(TRACKS), st.booleans()),
    ),
    max_size=80,
)


def expected_notes(script: list[Key | Toggle], end: float) -> list[tuple[float, str, int]]:
    """(time, "on"/"off", pitch) every sink must see, from the input alone; the show ends at `end`."""
    muted: set[str] = set()
    soloed: set[str] = set()
    audible_holds: Counter[tuple[str, int]] = Counter()
    silent_holds: Counter[tuple[str, int]] = Counter()
    out: list[tuple[float, str, int]] = []
    time = 0.0
    for step in script:
        if isinstance(step, Toggle):
            chosen = muted if step.kind == "mute" else soloed
            (chosen.add if step.on else chosen.discard)(step.track)
            continue
        time += STEP_S
        hold = (step.track, step.pitch)
        sounding = sum(audible_holds[(track, step.pitch)] for track in TRACKS) > 0
        if step.down:
            if step.track in muted or (soloed and step.track not in soloed):
                silent_holds[hold] += 1
                continue
            if sounding:
                out.append((time, "off", step.pitch))  # a re-struck key is released first
            out.append((time, "on", step.pitch))
            audible_holds[hold] += 1
        elif audible_holds[hold] > 0:
            audible_holds[hold] -= 1
            if sum(audible_holds[(track, step.pitch)] for track in TRACKS) == 0:
                out.append((time, "off", step.pitch))
        elif silent_holds[hold] > 0:
            silent_holds[hold] -= 1
    for pitch in PITCHES:  # the end of the show releases what still sounds
        if sum(audible_holds[(track, pitch)] for track in TRACKS) > 0:
            out.append((end, "off", pitch))
    return out


def play(script: list[Key | Toggle], sinks: list[MemorySink]) -> tuple[Router, float]:
    """Dispatch the script with increasing times, then release at the end; returns the end time."""
    router = Router(sinks)
    time = 0.0
    for step in script:
        if isinstance(step, Toggle):
            (router.set_muted if step.kind == "mute" else router.set_soloed)(step.track, step.on)
            continue
        time += STEP_S
        message = note_on(CHANNEL, step.pitch, 90) if step.down else note_off(CHANNEL, step.pitch)
        router.dispatch(MidiEvent(time, time * 2, message, step.track))
    end = time + 1.0
    router.release(end, end * 2)
    return router, end


def notes_of(events: list[MidiEvent]) -> list[tuple[float, str, int]]:
    return [(e.time, "on" if e.is_note_on else "off", e.message[1]) for e in events if e.is_note_on or e.is_note_off]


@settings(max_examples=1000, deadline=None)
@given(steps)
@example([Key("a", 60, True), Toggle("mute", "b", True), Key("b", 60, True), Key("a", 60, False),
          Key("b", 60, False)])  # b's suppressed note must not swallow a's note-off
@example([Key("a", 60, True), Toggle("mute", "a", True), Key("a", 60, True), Key("a", 60, False),
          Key("a", 60, False)])  # a's first note-off ends its audible note, not its muted one
def test_every_sink_alternates_per_key_and_releases_at_the_right_note_off(script: list[Key | Toggle]) -> None:
    sinks = [MemorySink("one"), MemorySink("two")]
    router, end = play(script, sinks)
    expected = expected_notes(script, end)
    for sink in sinks:
        assert_no_hanging_notes(sink.events)  # strict on/off alternation per key, nothing left sounding
        assert {e.channel for e in sink.events} <= {CHANNEL}
        assert notes_of(sink.events) == expected  # every note-on and note-off, at the right time
    assert router.sounding() == []


def test_a_muted_track_on_a_held_key_leaves_the_holder_sounding() -> None:
    """The case that once ended a note early: b, muted, strikes and lets go of the key a holds."""
    script = [Key("a", 60, True), Toggle("mute", "b", True), Key("b", 60, True), Key("b", 60, False),
              Key("a", 60, False)]
    sink = MemorySink()
    play(script, [sink])
    assert notes_of(sink.events) == [(0.125, "on", 60), (0.5, "off", 60)]


def test_a_track_muted_while_holding_a_key_still_ends_it_with_its_next_note_off() -> None:
    script = [Key("a", 60, True), Toggle("mute", "a", True), Key("a", 60, True), Key("a", 60, False),
              Key("a", 60, False)]
    sink = MemorySink()
    play(script, [sink])
    assert notes_of(sink.events) == [(0.125, "on", 60), (0.375, "off", 60)]


def test_a_re_struck_key_sounds_until_its_last_holder_lets_go() -> None:
    script = [Key("a", 60, True), Key("b", 60, True), Key("a", 60, False), Key("b", 60, False)]
    sink = MemorySink()
    play(script, [sink])
    assert notes_of(sink.events) == [(0.125, "on", 60), (0.25, "off", 60), (0.25, "on", 60), (0.5, "off", 60)]


def test_release_resets_the_channel_after_the_note_offs() -> None:
    sink = MemorySink()
    play([Key("a", 61, True)], [sink])
    controls = [e.message[1:] for e in sink.events if e.status == CONTROL_CHANGE]
    assert notes_of(sink.events)[-1] == (1.125, "off", 61)
    assert controls == [(CC_SUSTAIN, 0), (CC_ALL_NOTES_OFF, 0)]
