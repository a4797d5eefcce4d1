"""Every submitted command gets a result: applied, or rejected with one reason, up front or when applied."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import eighths

from encore.engine.clock import VirtualClock
from encore.engine.commands.groove import SetGroove
from encore.engine.commands.jump import Next
from encore.engine.commands.mix import Mute, Solo
from encore.engine.commands.reseed import Reseed
from encore.engine.commands.sampling import SetSampling
from encore.engine.commands.tempo import SetTempo
from encore.engine.commands.transport import Panic, Stop
from encore.engine.control import Command, CommandError
from encore.engine.engine import Engine, EngineConfig
from encore.engine.results import SHOW_ENDED, Applied, CommandResult, CommandTicket, Rejected
from encore.engine.sinks.base import MemorySink
from encore.engine.songs import SongPlan
from encore.models.notes import NoteEvent

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"


def two_voices(songs: tuple[SongPlan, ...] = ()) -> Engine:
    return Engine([eighths("piano", 0), eighths("keys", 1)], [MemorySink()], EngineConfig(bpm=120.0),
                  now=VirtualClock(10.0), songs=songs)


def at(engine: Engine, when: float, commands: list[Command], tickets: list[CommandTicket]) -> Callable[[float], None]:
    def hook(now: float) -> None:
        if now >= when and not tickets:
            tickets.extend(engine.submit(command) for command in commands)

    return hook


BAD = [
    (Mute("drums"), "voice: no voice named 'drums' (voices: piano, keys)"),
    (SetSampling("nobody", temperature=0.5), "voice: no voice named 'nobody' (voices: piano, keys)"),
    (SetSampling("piano", temperature=9.0), "temperature: must be in [0, 5] (0 is greedy), got 9.0"),
    (SetSampling(top_p=0.0), "top_p: must be in (0, 1], got 0.0"),
    (SetSampling("keys", repetition_window=500), "repetition_window: must be in [0, 128], got 500"),
    (SetTempo(1000.0), "bpm: must be between 20 and 400, got 1000.0"),
    (SetTempo(float("nan")), "bpm: must be between 20 and 400, got nan"),
    (SetGroove(groove="funk", voice="piano"), "voice piano is not a drum voice"),
    (SetGroove(mode="samba", voice="piano"), "mode: must be one of library, pattern, follow-piano, got 'samba'"),
    (Reseed(Path("/no/such/seed.mid"), "piano"), "seed /no/such/seed.mid does not exist"),
    (Reseed((), "piano"), "seed: a phrase needs at least one note"),
    (Reseed((NoteEvent(0.0, 200, 90, 1.0),), "keys"), "seed[0].pitch: must be an integer 0-127"),
    (Next(), "next: this show has no setlist"),
]


@pytest.mark.parametrize(("command", "reason"), BAD, ids=[type(c).__name__ + str(i) for i, (c, _) in enumerate(BAD)])
def test_a_bad_command_is_rejected_at_once_with_the_reason_the_engine_gives_when_applying(command: Command, reason: str) -> None:
    engine = two_voices()
    ticket = engine.submit(command)
    assert ticket.done() and ticket.result(0) == Rejected(command, reason)
    with pytest.raises(CommandError) as raised:
        engine.check(command)
    assert str(raised.value) == reason
    # The same command slipped past the check (queued directly) is refused when applied, for the same reason.
    late = CommandTicket(command)
    engine.applier.inbox.submit(command, late)
    engine.run_offline(0.05)
    assert late.result(0) == Rejected(command, reason)


def test_good_commands_are_applied_and_every_result_reaches_subscribers() -> None:
    engine = two_voices()
    results: queue.SimpleQueue[CommandResult] = queue.SimpleQueue()
    unsubscribe = engine.subscribe(results.put)
    commands: list[Command] = [SetTempo(90.0), SetSampling("piano", temperature=0.7), Mute("keys"), Solo("piano"),
                               Reseed(SEED, "piano"), Reseed((NoteEvent(0.0, 72, 100, 1.0),), "keys"), Panic(),
                               Mute("ghost")]
    tickets: list[CommandTicket] = []
    engine.run_offline(3.0, on_tick=at(engine, 1.0, commands, tickets))
    assert [t.result(0) for t in tickets[:-1]] == [Applied(c) for c in commands[:-1]]
    assert not tickets[-1].result(0).ok
    seen = []
    while not results.empty():
        seen.append(results.get())
    assert sorted(map(repr, seen)) == sorted(repr(t.result(0)) for t in tickets)  # each result once
    unsubscribe()
    engine.submit(Mute("ghost"))
    assert results.empty()


def test_stop_is_applied_and_commands_after_the_end_are_rejected() -> None:
    engine = two_voices()
    tickets: list[CommandTicket] = []
    report = engine.run_offline(10.0, on_tick=at(engine, 1.0, [Stop()], tickets))
    assert report.seconds == pytest.approx(1.0) and tickets[0].result(0) == Applied(Stop())
    late = engine.submit(SetTempo(100.0))
    assert late.result(0) == Rejected(SetTempo(100.0), SHOW_ENDED)


def test_next_at_the_last_song_is_rejected_with_its_name() -> None:
    engine = two_voices((SongPlan("only", 8.0),))
    assert engine.submit(Next()).result(0) == Rejected(Next(), "next: song 1 (only) is the last")


def test_a_failing_subscriber_does_not_reach_the_engine() -> None:
    engine = two_voices()

    def broken(result: CommandResult) -> None:
        raise RuntimeError("surface bug")

    engine.subscribe(broken)
    ticket = engine.submit(Mute("ghost"))
    assert not ticket.result(0).ok


def test_a_ticket_can_be_awaited_from_another_event_loop_and_calls_back() -> None:
    engine = Engine([eighths()], [MemorySink()], EngineConfig(bpm=240.0))
    called: list[CommandResult] = []

    async def main() -> CommandResult:
        show = asyncio.create_task(engine.run(1.0))
        await asyncio.sleep(0.3)
        ticket = engine.submit(Mute("pattern"))
        ticket.add_done_callback(called.append)
        result = await asyncio.wait_for(ticket.wait(), 1.0)
        await show
        return result

    assert asyncio.run(main()) == Applied(Mute("pattern")) and called == [Applied(Mute("pattern"))]
