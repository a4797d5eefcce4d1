"""Performer input timed in show time, and the phrase capture state machine."""

from __future__ import annotations

from dataclasses import replace

import pytest

from encore.engine.engine import Engine, EngineConfig
from encore.engine.sinks.base import MemorySink
from encore.engine.snapshot import ShowSnapshot
from encore.engine.voices.pattern import PatternVoice
from encore.models.notes import NoteEvent
from encore.stage.controllers.mapping import CaptureSettings
from encore.stage.controllers.messages import ControllerMessage
from encore.stage.controllers.performer import PerformerInput, PlayedNote, ShowClock, ShowPosition
from encore.stage.controllers.phrase import PhraseCapture, phrase_notes


def at(seconds: float, bpm: float = 120.0) -> ShowPosition:
    """Show position `seconds` into a show at one tempo from 0."""
    return ShowPosition(seconds, seconds * bpm / 60.0)


def played(pitch: int, start_s: float, end_s: float, velocity: int = 80) -> PlayedNote:
    return PlayedNote(1, pitch, velocity, at(start_s), at(end_s))


def snapshot(playing: bool, seconds: float, beats: float, bpm: float) -> ShowSnapshot:
    """A snapshot with the clock fields set (a real engine's, not started, with them replaced)."""
    engine = Engine([PatternVoice("piano", 0, [NoteEvent(0.0, 60, 90, 0.5)], 4.0)], [MemorySink()],
                    EngineConfig(bpm=bpm))
    return replace(engine.snapshot(), playing=playing, show_time_s=seconds, beats=beats, tempo_bpm=bpm)


def test_the_show_clock_places_arrival_times_in_show_seconds_and_beats() -> None:
    clock = ShowClock()
    assert clock.position(5.0) == ShowPosition(0.0, 0.0)  # nothing seen yet
    clock.observe(snapshot(False, 0.0, 0.0, 120.0), 99.0, 99.2)  # not playing: from this snapshot alone
    assert clock.position(100.1) == ShowPosition(1.0, 2.0)
    # Playing: the origin (perf 1000 = show 0) is bounded by each snapshot's readings, tightest kept.
    clock.observe(snapshot(True, 10.0, 20.0, 90.0), 1009.8, 1010.2)  # origin in [999.8, 1000.2]
    clock.observe(snapshot(True, 11.0, 21.5, 90.0), 1010.9, 1011.1)  # origin in [999.9, 1000.1]
    assert clock.position(1012.0).seconds == pytest.approx(12.0)
    assert clock.position(1012.0).beats == pytest.approx(23.0)  # a second on from beat 21.5 at 90 bpm
    assert clock.position(1009.0) == pytest.approx(ShowPosition(9.0, 18.5))
    # A snapshot read slowly (its readings far apart) does not loosen the bounds.
    clock.observe(snapshot(True, 12.0, 23.0, 90.0), 1011.0, 1013.0)
    assert clock.position(1012.0).seconds == pytest.approx(12.0)
    # A new show (another origin) starts the bounds again.
    clock.observe(snapshot(True, 1.0, 2.0, 120.0), 2000.95, 2001.05)
    assert clock.position(2001.0) == pytest.approx(ShowPosition(1.0, 2.0))


def test_performer_input_pairs_keys_and_tells_its_subscribers() -> None:
    performer, heard = PerformerInput(), []
    unsubscribe = performer.subscribe(heard.append)
    assert performer.quiet_since is None
    performer.feed(ControllerMessage("note_on", 1, 60, 90), at(1.0))
    performer.feed(ControllerMessage("note_on", 1, 64, 70), at(1.5))
    assert performer.keys_down == 2 and performer.quiet_since is None
    performer.feed(ControllerMessage("note_off", 1, 60, 0), at(2.0))
    performer.feed(ControllerMessage("note_on", 1, 64, 50), at(2.5))  # re-struck while held: ends the first
    assert heard == [PlayedNote(1, 60, 90, at(1.0), at(2.0)), PlayedNote(1, 64, 70, at(1.5), at(2.5))]
    assert heard[0].duration_beats == 2.0 and performer.quiet_since is None
    assert performer.note_off(1, 99, at(3.0)) is None  # never held
    ended = performer.release_all(at(4.0))
    assert ended == [PlayedNote(1, 64, 50, at(2.5), at(4.0))] and performer.quiet_since == 4.0
    unsubscribe()
    performer.note_on(1, 70, 90, at(5.0))
    performer.note_off(1, 70, at(5.5))
    assert len(heard) == 3


def test_the_capture_button_arms_then_ends_a_phrase() -> None:
    capture = PhraseCapture(CaptureSettings(arm="button"))
    capture.add(played(50, 0.0, 0.5))  # idle: not kept
    assert capture.state == "idle" and capture.press(1.0) is None and capture.state == "armed"
    capture.add(played(51, 0.8, 1.2))  # started before arming: not kept
    assert capture.state == "armed"
    for i, pitch in enumerate((60, 62, 64)):
        capture.add(played(pitch, 1.5 + i * 0.5, 1.9 + i * 0.5))
    assert capture.state == "recording" and capture.notes == 3
    assert capture.tick(5.0, None) is None  # a key still held: not silent
    phrase = capture.press(4.0)
    assert phrase is not None and [n.pitch for n in phrase] == [60, 62, 64]
    assert capture.state == "idle"
    capture.press(5.0)
    assert capture.press(5.5) is None and capture.state == "idle"  # pressed twice with no note: disarmed


def test_silence_ends_a_phrase_and_in_silence_mode_capture_rearms_itself() -> None:
    capture = PhraseCapture(CaptureSettings(arm="silence", silence_s=2.0))
    assert capture.state == "armed"
    capture.add(played(60, 0.0, 0.4))
    capture.add(played(67, 0.5, 1.0))
    assert capture.tick(2.9, quiet_since_s=1.0) is None
    phrase = capture.tick(3.0, quiet_since_s=1.0)
    assert phrase is not None and len(phrase) == 2 and capture.state == "armed"
    assert capture.tick(10.0, quiet_since_s=1.0) is None  # nothing new recorded


def test_a_phrase_keeps_its_place_in_the_bar() -> None:
    # 4/4 at 120 bpm: bar 3 starts at beat 8 (4 s); the phrase starts on beat 9.5, a pickup into beat 10.
    notes = [played(67, 5.0, 5.25, 100), played(60, 4.75, 5.0, 90), played(64, 5.0, 6.0, 0)]
    assert phrase_notes(notes, 4.0) == (
        NoteEvent(1.5, 60, 90, 0.5), NoteEvent(2.0, 64, 1, 2.0), NoteEvent(2.0, 67, 100, 0.5))
    assert phrase_notes([played(60, 1.0, 1.0)], 3.0)[0].duration_beats == 1 / 32  # a zero-length tap still sounds
    assert phrase_notes([], 4.0) == ()
