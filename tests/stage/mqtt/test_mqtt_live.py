"""Remote control of a real show over a real broker: a real-time headless show (the shipped piano, drums
following it, recording to a file) with the MQTT bridge beside it, steered and watched through mosquitto.
The tiny random checkpoint is no good here: it plays chords of dozens of notes and renders slower than
real time on a loaded 2-core machine.

The tests share one show and run in file order: the last one stops it over MQTT.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import mido
import pytest
from mosquitto_broker import USERNAME, Broker
from mqtt_remote import WAIT_S, Remote, client, voice

from encore.engine.journal import read_journal
from encore.engine.midi import CC_ALL_NOTES_OFF, CONTROL_CHANGE
from encore.engine.report import ShowReport
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.engine.snapshot import ShowSnapshot
from encore.engine.surfaces import perform_with_surfaces
from encore.stage.cli import main as encore_main
from encore.stage.mqtt.bridge import MqttBridge
from encore.stage.mqtt.payloads import RETAINED_REFUSED
from encore.stage.mqtt.settings import Backoff, MqttSettings

REPO = Path(__file__).resolve().parents[3]
SETLIST = """
[piano]
checkpoint = "default"   # the shipped piano: real music, several times faster than real time here
[drums]
checkpoint = "factorized"
mode = "follow-piano"
groove = "funk"
[[songs]]
name = "opening"
seed = "seeds/first.mid"
tempo = 120
bars = 64
[[songs]]
name = "second"
seed = "seeds/first.mid"
tempo = 90
bars = 64
"""
MAX_SHOW_S = 300.0
"""A safety net: the last test stops the show long before."""
FAST_BACKOFF = Backoff(first_s=0.2, max_s=1.0)


@dataclass
class Stage:
    """The show under test, its bridge, and the event loop and thread it performs in."""

    show: Show
    bridge: MqttBridge
    folder: Path
    thread: threading.Thread | None = None
    loop: asyncio.AbstractEventLoop | None = None
    report: ShowReport | None = None

    @contextlib.contextmanager
    def side_bridge(self, settings: MqttSettings) -> Iterator[MqttBridge]:
        """A second bridge on the same show, running in its loop inside the `with` block."""
        bridge = MqttBridge(settings)
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(bridge.run(self.show), self.loop)
        try:
            yield bridge
        finally:
            future.cancel()


def settings_for(broker: Broker, stage: str = "main", password_file: Path | None = None) -> MqttSettings:
    settings = MqttSettings.parse(broker.address, stage, USERNAME, password_file or broker.password_file)
    return dataclasses.replace(settings, backoff=FAST_BACKOFF)


def wait_until(condition: Any, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def stage(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    folder = tmp_path_factory.mktemp("stage")
    (folder / "seeds").mkdir()
    shutil.copy(REPO / "setlists" / "seeds" / "pop909_003.mid", folder / "seeds" / "first.mid")
    shutil.copy(REPO / "tests" / "fixtures" / "pop909" / "001.mid", folder / "seeds" / "other.mid")
    (folder / "show.toml").write_text(SETLIST)
    options = PlayOptions(headless=True, realtime=True, record=folder / "set.mid", seconds=MAX_SHOW_S)
    show = Show.build(load_setlist(folder / "show.toml"), options)
    live = Stage(show, MqttBridge(settings_for(broker)), folder)

    async def perform() -> None:
        live.loop = asyncio.get_running_loop()
        live.report = await perform_with_surfaces(show, [live.bridge])

    live.thread = threading.Thread(target=asyncio.run, args=(perform(),), name="show")
    live.thread.start()
    try:
        wait_until(lambda: show.snapshot().notes_sent > 0 and live.bridge.status().state == "open",
                   "show playing with its bridge open", timeout=60)
        yield live
    finally:
        show.stop()
        live.thread.join(timeout=WAIT_S)
        if live.thread.is_alive():
            faulthandler.dump_traceback()
            pytest.fail(f"the show did not end within {WAIT_S} s of a stop", pytrace=False)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# State and notes ----------------------------------------------------------------------------------

def test_the_state_is_retained_and_notes_are_published_once_each(stage: Stage, broker: Broker) -> None:
    async def watch() -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        async with Remote(broker) as remote:
            await remote.state_where(lambda s: True, "state")
            retained = remote.messages[remote.topics.state][0].retain
            first = await remote.state_where(lambda s: s["playing"], "a state while playing")
            await asyncio.sleep(2.0)
            count = len(remote.messages[remote.topics.state])
            notes = remote.payloads(remote.topics.notes)
            assert retained, "the first state a new subscriber gets is the retained one"
            return first, count, notes

    first, count, notes = run(watch())
    assert {"tempo", "song", "bar", "playing", "online"} <= set(first) and first["playing"] and first["online"]
    assert first["tempo"] == 120.0 and first["song"]["name"] == "opening" and first["bar"] >= 1
    assert [v["name"] for v in first["voices"]] == ["piano", "drums"]
    assert "recent_notes" not in first["voices"][0]
    assert 5 <= count <= 2.0 * 10 + 3  # at most 10 a second (and it keeps coming while the show plays)

    published = [(n["voice"], n["onset_beats"], n["pitch"]) for message in notes for n in message["notes"]]
    assert published and len(published) == len(set(published)), "each note once"
    # Every note the engine sent in the window watched was published: compare with the snapshot.
    start, end = min(n[1] for n in published) + 1.0, max(message["beats"] for message in notes) - 0.5
    snapshot = stage.show.snapshot()
    sent = {(v.name, note[0], note[1]) for v in snapshot.voices for note in v.recent_notes if start <= note[0] <= end}
    assert sent and sent <= set(published)


# Bad payloads -------------------------------------------------------------------------------------

def bad_payloads(count: int, seed: int = 8) -> list[tuple[str, bytes]]:
    """`count` (command, payload) pairs that must each be refused: a seeded mix of every kind of mistake."""
    rng = random.Random(seed)
    commands = ["tempo", "sampling", "mute", "solo", "reseed", "groove", "next", "panic", "stop"]
    wrong_types: list[tuple[str, Any]] = [
        ("tempo", {"bpm": "fast"}), ("tempo", {"bpm": [120]}), ("tempo", {"bpm": True}), ("tempo", {"bpm": {}}),
        ("sampling", {"temperature": "hot"}), ("sampling", {"top_p": [0.9]}), ("sampling", {"voice": 5}),
        ("sampling", {"repetition_window": 2.5}), ("mute", {"voice": 7}), ("mute", {"voice": "piano", "muted": "yes"}),
        ("solo", {"voice": "piano", "soloed": 1}), ("reseed", {"seed": 5}), ("reseed", {"seed": [[1, 2]]}),
        ("groove", {"mode": 5}), ("groove", {"pattern": [1]}), ("mute", {}), ("reseed", {"voice": "piano"}),
    ]
    out_of_range: list[tuple[str, Any]] = [
        ("tempo", {"bpm": 0}), ("tempo", {"bpm": -1}), ("tempo", {"bpm": 19.9}), ("tempo", {"bpm": 400.5}),
        ("tempo", {"bpm": 1e308}), ("sampling", {"temperature": -1}), ("sampling", {"temperature": 5.1}),
        ("sampling", {"top_p": 0}), ("sampling", {"top_p": 1.5}), ("sampling", {"min_p": 2}),
        ("reseed", {"seed": [[0, 200, 90, 1]]}), ("reseed", {"seed": [[0, 60, 0, 1]]}),
        ("reseed", {"seed": [[-1, 60, 90, 1]]}),
    ]
    engine_refuses: list[tuple[str, Any]] = [
        ("mute", {"voice": "nope"}), ("solo", {"voice": "ghost"}), ("reseed", {"seed": "no-such-seed"}),
        ("groove", {"voice": "piano", "mode": "library"}), ("sampling", {"voice": "nobody", "temperature": 1}),
        ("groove", {"groove": "no-such-groove"}), ("reseed", {"voice": "drums", "seed": "other"}),
    ]
    texts = [b"5", b"[1, 2]", b'"x"', b"true", b"{", b'{"bpm": NaN}', b'{"bpm": Infinity}', b"[" * 50_000,
             b'{"bpm": 100, "bmp": 1}']
    made: list[tuple[str, bytes]] = []
    while len(made) < count:
        kind = rng.randrange(7)
        if kind == 0:  # junk bytes: never UTF-8, never a byte-order mark
            made.append((rng.choice(commands), b"\xc0" + rng.randbytes(rng.randrange(200))))
        elif kind == 1:
            name, fields = rng.choice(wrong_types)
            made.append((name, json.dumps(fields).encode()))
        elif kind == 2:
            name, fields = rng.choice(out_of_range)
            made.append((name, json.dumps(fields).encode()))
        elif kind == 3:
            name, fields = rng.choice(engine_refuses)
            made.append((name, json.dumps(fields).encode()))
        elif kind == 4:  # unknown commands, valid-looking fields
            made.append((rng.choice(["jump", "Tempo", "tempo/now", "", "next/", "stop/all"]), b'{"bpm": 100}'))
        elif kind == 5:
            made.append((rng.choice(commands), rng.choice(texts)))
        elif rng.random() < 0.1:  # huge: about 1 MB, and just over the 64 KiB limit
            size = rng.choice([1_000_000, 65_537])
            made.append((rng.choice(commands), json.dumps({"bpm": 100, "pad": "x" * size}).encode()))
    return made


def mix(snapshot: ShowSnapshot) -> tuple[object, ...]:
    """What a command could change."""
    return (snapshot.tempo_bpm, snapshot.song, snapshot.next_song,
            tuple((v.sampling, v.muted, v.soloed, v.seed, v.groove, v.mode) for v in snapshot.voices))


def test_bad_payloads_are_each_answered_on_the_errors_topic_and_change_nothing(stage: Stage, broker: Broker) -> None:
    payloads = bad_payloads(220)
    assert sum(len(p) >= 1_000_000 for _, p in payloads) >= 2
    before = stage.show.snapshot()

    async def flood() -> list[dict[str, Any]]:
        async with Remote(broker) as remote:
            for name, payload in payloads:
                await remote.send(name, payload)
            await remote.until(lambda: len(remote.messages[remote.topics.errors]) >= len(payloads),
                               f"{len(payloads)} errors", timeout=60)
            await asyncio.sleep(0.5)  # nothing more arrives
            assert all(reply["ok"] is False and reply["reason"] for reply in remote.replies.values())
            return remote.payloads(remote.topics.errors)

    errors = run(flood())
    after = stage.show.snapshot()
    assert len(errors) == len(payloads)
    assert sorted(e["topic"] for e in errors) == sorted(f"encore/main/control/{name}" for name, _ in payloads)
    assert all(e["reason"] and "\n" not in e["reason"] for e in errors)
    assert sorted(e["bytes"] for e in errors) == sorted(len(p) for _, p in payloads)
    reasons = " ".join(e["reason"] for e in errors)
    for expected in ("payload too large", "not valid JSON", "unknown command", "must be a number",
                     "no voice named 'nope'", "must be a JSON object"):
        assert expected in reasons
    assert mix(after) == mix(before)
    assert after.playing and after.notes_sent > before.notes_sent and stage.thread is not None and stage.thread.is_alive()


# Every control topic ------------------------------------------------------------------------------

def cc_all_notes_off(journal: Path) -> int:
    _, events = read_journal(journal)
    return sum(1 for e in events if e.status == CONTROL_CHANGE and e.message[1] == CC_ALL_NOTES_OFF)


def test_every_control_topic_takes_effect(stage: Stage, broker: Broker) -> None:
    async def steer() -> None:
        async with Remote(broker) as remote:
            async def apply(command: str, payload: dict[str, Any] | None, check: Any, what: str) -> None:
                reply = await remote.request(command, payload)
                assert reply["ok"] is True, reply
                await remote.fresh_state(check, what)

            await apply("tempo", {"bpm": 100}, lambda s: s["tempo"] == 100.0, "tempo 100")
            await apply("sampling", {"voice": "piano", "temperature": 0.9, "top_p": 0.95},
                        lambda s: voice(s, "piano")["sampling"]["temperature"] == 0.9
                        and voice(s, "piano")["sampling"]["top_p"] == 0.95, "piano sampling")
            await apply("mute", {"voice": "drums"}, lambda s: voice(s, "drums")["muted"], "drums muted")
            await apply("mute", {"voice": "drums", "muted": False}, lambda s: voice(s, "drums")["audible"],
                        "drums unmuted")
            await apply("solo", {"voice": "piano"},
                        lambda s: voice(s, "piano")["soloed"] and not voice(s, "drums")["audible"], "piano solo")
            await apply("solo", {"voice": "piano", "soloed": False}, lambda s: voice(s, "drums")["audible"],
                        "solo off")
            await apply("reseed", {"voice": "piano", "seed": "other"},
                        lambda s: voice(s, "piano")["seed"] == "other.mid", "the new seed primed")
            await apply("groove", {"mode": "library", "groove": "funk-102"},
                        lambda s: voice(s, "drums")["mode"] == "library" and voice(s, "drums")["groove"] == "funk-102",
                        "the library groove")
            await apply("next", None, lambda s: s["song"]["name"] == "second" and s["tempo"] == 90.0,
                        "the second song at its tempo")
            journal = stage.folder / "set.journal"
            before = cc_all_notes_off(journal)
            assert (await remote.request("panic", {}))["ok"] is True
            await remote.until(lambda: cc_all_notes_off(journal) > before, "All Notes Off in the recording")
            assert remote.payloads(remote.topics.errors) == []
            notes_now = stage.show.snapshot().notes_sent
            await remote.fresh_state(lambda s: s["playing"] and s["notes_sent"] > notes_now, "notes after the panic")

    run(steer())


# Credentials and retained commands ----------------------------------------------------------------

def test_clients_without_the_right_credentials_are_refused(stage: Stage, broker: Broker, tmp_path: Path) -> None:
    async def connect(username: str | None, password: str | None) -> None:
        async with client(broker, username, password) as anonymous:
            await anonymous.publish("encore/main/control/stop", b"", qos=1)

    for username, password in [(None, None), (USERNAME, "wrong"), ("intruder", "s3cret stage")]:
        with pytest.raises(aiomqtt.MqttError, match="[Nn]ot authori[sz]ed|[Bb]ad user name or password"):
            run(connect(username, password))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("wrong\n")
    with stage.side_bridge(settings_for(broker, "other", wrong)) as bridge:
        wait_until(lambda: bridge.status().state == "reconnecting", "a refused bridge reconnecting")
        status = bridge.status()
        assert status.detail.startswith("in ") and " s: " in status.detail and "authori" in status.detail.lower()
    assert stage.show.snapshot().playing


def test_retained_commands_are_refused_so_an_old_stop_never_ends_a_show(stage: Stage, broker: Broker) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with Remote(broker, "other") as remote:
            await remote.send("tempo", {"bpm": 33}, retain=True)
            with stage.side_bridge(settings_for(broker, "other")) as bridge:
                await remote.until(lambda: remote.messages[remote.topics.errors] != [], "the refusal")
                assert bridge.status().state == "open"
            await remote.client.publish(remote.topics.control("tempo"), b"", qos=1, retain=True)  # clean up
            return remote.payloads(remote.topics.errors)

    before = stage.show.snapshot().tempo_bpm
    errors = run(scenario())
    assert errors[0]["reason"] == RETAINED_REFUSED
    assert stage.show.snapshot().tempo_bpm == before != 33.0


# The broker goes away -----------------------------------------------------------------------------

def test_the_show_plays_on_while_the_broker_restarts_and_control_works_again(stage: Stage, broker: Broker) -> None:
    broker.kill()
    wait_until(lambda: stage.bridge.status().state == "reconnecting", "reconnecting")
    status = stage.bridge.status()
    assert status.detail.startswith("in ") and " s: " in status.detail
    notes = stage.show.snapshot().notes_sent
    wait_until(lambda: stage.show.snapshot().notes_sent > notes, "notes while the broker is down")
    broker.start()
    wait_until(lambda: stage.bridge.status().state == "open", "the bridge open again")

    async def steer() -> None:
        async with Remote(broker) as remote:
            assert (await remote.request("tempo", {"bpm": 104}))["ok"] is True
            await remote.fresh_state(lambda s: s["tempo"] == 104.0, "tempo 104 after the restart")

    run(steer())
    assert stage.show.snapshot().playing


# encore send --------------------------------------------------------------------------------------

def send_options(broker: Broker) -> list[str]:
    return ["--mqtt", broker.address, "--stage", "main", "--mqtt-username", USERNAME,
            "--mqtt-password-file", str(broker.password_file)]


def encore_send(broker: Broker, *args: str) -> subprocess.CompletedProcess[str]:
    """`encore send` in a process of its own, as a shell script runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "encore.stage.cli", "send", *send_options(broker), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_encore_send_publishes_one_command_end_to_end(stage: Stage, broker: Broker,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    applied = encore_send(broker, "tempo", '{"bpm": 111}', "--wait", "20")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == 'encore: applied {"command": "tempo", "bpm": 111.0}'
    wait_until(lambda: stage.show.snapshot().tempo_bpm == 111.0, "tempo 111")

    # The same command line in this process (a second interpreter costs seconds on a loaded machine).
    assert encore_main(["send", *send_options(broker), "mute", '{"voice": "drums"}']) == 0
    assert capsys.readouterr().out.strip() == "encore: sent encore/main/control/mute"
    wait_until(lambda: stage.show.snapshot().voice("drums").muted, "drums muted")
    assert encore_main(["send", *send_options(broker), "tempo", '{"bpm": "fast"}']) == 2
    assert capsys.readouterr().err.strip() == "encore: error: tempo.bpm: must be a number, got a string"
    assert encore_main(["send", *send_options(broker), "solo", '{"voice": "ghost"}', "--wait", "20"]) == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]  # the engine's log line comes first here
    assert last_line == "encore: refused: voice: no voice named 'ghost' (voices: piano, drums)"
    assert stage.show.snapshot().tempo_bpm == 111.0


def test_stop_over_mqtt_ends_the_show_and_the_last_state_says_so(stage: Stage, broker: Broker) -> None:
    stopped = encore_send(broker, "stop", "--wait", "20")
    assert stopped.returncode == 0, stopped.stderr
    assert stage.thread is not None
    stage.thread.join(timeout=WAIT_S)
    assert not stage.thread.is_alive() and stage.report is not None
    assert stage.bridge.status().state == "closed"

    async def last_state() -> dict[str, Any]:
        async with Remote(broker) as remote:
            return await remote.state_where(lambda s: True, "the retained state")

    state = run(last_state())
    assert state["online"] and not state["playing"]
    midi = mido.MidiFile(stage.folder / "set.mid")
    assert stage.report.seconds < MAX_SHOW_S and midi.length > 5
