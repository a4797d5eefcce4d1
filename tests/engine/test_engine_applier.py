"""The applier on its own, over a fake show (`ShowControl`): checks at submission and again when applying,
cues and song changes in beat order, one-line reasons, the end of the show; and a command of a test's own."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from encore.engine.applying import Applier
from encore.engine.clock import MusicalClock
from encore.engine.commands.mix import Mute
from encore.engine.commands.tempo import SetTempo
from encore.engine.control import Command, CommandError, ShowControl, command_types
from encore.engine.event_queue import EventQueue
from encore.engine.latency import Asked, LatencyMarks
from encore.engine.midi import TEMPO_TRACK
from encore.engine.results import SHOW_ENDED, Applied, CommandResult, Rejected
from encore.engine.router import Router
from encore.engine.sinks.base import MemorySink, Sink
from encore.engine.voices.base import Voice


@dataclass
class FakeShow:
    """The parts of a show a command may read and change, without voices rendering or a sender."""

    clock: MusicalClock = field(default_factory=lambda: MusicalClock(120.0, (4, 4)))
    voices: dict[str, Voice] = field(default_factory=lambda: {"keys": Voice("keys", 0)})
    queue: EventQueue = field(default_factory=EventQueue)
    sinks: list[Sink] = field(default_factory=lambda: [MemorySink()])
    latency: LatencyMarks = field(default_factory=lambda: LatencyMarks(lambda show_time: show_time))
    playing: bool = True
    time: float = 1.0
    ended: bool = False

    def __post_init__(self) -> None:
        self.router = Router(self.sinks)
        self.live = self.voices
        self.note_log = self.sinks[0]

    def show_time(self) -> float:
        return self.time

    def playhead(self) -> float:
        return self.clock.beat_at(self.time)

    def next_target(self, step: int) -> tuple[int, float]:
        raise CommandError("next: this show has no setlist")

    def end_show(self) -> None:
        self.ended = True


@dataclass(frozen=True)
class Ping(Command):
    """A test's own command: not on the wire (no wire name), applied like any other."""

    answer: str = "pong"

    def check(self, show: ShowControl) -> None:
        if "keys" not in show.voices:
            raise CommandError("ping: nobody to answer\nat all")

    def apply(self, show: ShowControl, at_beat: float | None, asked: Asked) -> None:
        applied.append((self.answer, at_beat, asked))


applied: list[tuple[str, float | None, Asked]] = []


@pytest.fixture
def show() -> FakeShow:
    applied.clear()
    return FakeShow()


def make_applier(show: FakeShow, songs: list[tuple[float, Command]] | None = None) -> tuple[Applier, list[CommandResult]]:
    clock = iter(range(100, 1000))
    applier = Applier(show, lambda horizon: [cue for cue in (songs or []) if cue[0] <= horizon], lambda: float(next(clock)))
    results: list[CommandResult] = []
    applier.results.subscribe(results.append)
    return applier, results


def test_a_command_is_checked_at_submission_and_again_when_applied(show: FakeShow) -> None:
    applier, results = make_applier(show)
    ticket, queued = applier.submit(SetTempo(1000.0))
    assert not queued and ticket.result(0) == Rejected(SetTempo(1000.0), "bpm: must be between 20 and 400, got 1000.0")
    mute, queued = applier.submit(Mute("keys"))
    ping, _ = applier.submit(Ping())
    assert queued and not mute.done() and not show.router.mix()[0]
    show.voices.pop("keys")  # the voice went away before the tick
    applier.apply(horizon=0.0)
    assert mute.result(0) == Rejected(Mute("keys"), "voice: no voice named 'keys' (voices: )")
    assert ping.result(0) == Rejected(Ping(), "ping: nobody to answer at all")  # one line
    assert results == [ticket.result(0), mute.result(0), ping.result(0)] and not applied


def test_an_applied_command_changes_the_show_through_its_own_handler(show: FakeShow) -> None:
    applier, results = make_applier(show)
    tempo, _ = applier.submit(SetTempo(90.0))
    mute, _ = applier.submit(Mute("keys"))
    applier.submit(Ping("hello"))
    applier.apply(horizon=0.0)
    assert [result.ok for result in results] == [True, True, True] and tempo.result(0) == Applied(SetTempo(90.0))
    assert show.clock.bpm_at(3.0) == 90.0 and show.clock.bpm_at(2.9) == 120.0  # the next whole beat after 2.0
    assert show.router.mix()[0] == {"keys"}
    [latency] = show.latency.latencies  # submitted at clock reading 100, heard at show time 1.5
    assert (latency.command, latency.voice, latency.seconds) == ("SetTempo", TEMPO_TRACK, pytest.approx(1.5 - 100))
    assert applied == [("hello", None, Asked("Ping", 102.0))]


def test_cues_and_song_changes_apply_in_beat_order_once_within_the_horizon(show: FakeShow,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    applier, results = make_applier(show, songs=[(4.0, Ping("song 2")), (16.0, Ping("song 3"))])
    applier.cue(Ping("late"), 8.0)
    applier.cue(Ping("early"), 2.0)
    applier.cue(Mute("nobody"), 3.0)  # fails when applied: logged, the others go on
    with caplog.at_level(logging.WARNING):
        applier.apply(horizon=8.0)
    assert [(answer, beat) for answer, beat, _ in applied] == [("early", 2.0), ("song 2", 4.0), ("late", 8.0)]
    assert "cue Mute(voice='nobody', muted=True) at beat 3 ignored" in caplog.text
    assert applier.cues == [] and results == []  # cues have no tickets
    applier.apply(horizon=16.0)
    assert applied[-1][:2] == ("song 3", 16.0)


def test_at_the_end_queued_commands_and_later_ones_are_rejected(show: FakeShow) -> None:
    applier, _ = make_applier(show)
    queued, _ = applier.submit(Mute("keys"))
    applier.close()
    late, was_queued = applier.submit(Mute("keys"))
    assert queued.result(0) == Rejected(Mute("keys"), SHOW_ENDED)
    assert not was_queued and late.result(0) == Rejected(Mute("keys"), SHOW_ENDED)
    with pytest.raises(CommandError, match="^not a command: str$"):
        applier.check("tempo 100")  # type: ignore[arg-type]


def test_a_command_without_a_wire_name_is_not_on_the_wire() -> None:
    assert Ping.wire_name is None and Ping not in command_types().values()
    assert command_types()["tempo"] is SetTempo and command_types()["mute"] is Mute
