"""`encore play --headless --realtime --mqtt ...`: a show steered only remotely, end to end in processes of
its own, and `encore send` over TLS."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_broker import USERNAME, Broker
from mqtt_remote import WAIT_S, Remote, voice

from encore.stage.cli import main as encore_main

REPO = Path(__file__).resolve().parents[3]
CLICK_SETLIST = "[click]\nstep_beats = 0.5\n[[songs]]\ntempo = 120\nbars = 60\n"  # two minutes
START_TIMEOUT_S = 60.0
"""Loading the engine in a new interpreter takes seconds on a loaded machine."""


def login(broker: Broker) -> list[str]:
    return ["--mqtt-username", USERNAME, "--mqtt-password-file", str(broker.password_file)]


@pytest.fixture
def played(broker: Broker, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`encore play` of a click setlist, real time, headless, on stage `play`; killed if a test leaves it running."""
    (tmp_path / "click.toml").write_text(CLICK_SETLIST)
    process = subprocess.Popen(
        [sys.executable, "-m", "encore.stage.cli", "play", "click.toml", "--headless", "--realtime",
         "--record", "out.mid", "--mqtt", broker.address, "--stage", "play", *login(broker)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_a_headless_show_is_steered_only_remotely_and_stopped_over_mqtt(
        played: subprocess.Popen[str], broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    async def steer() -> None:
        async with Remote(broker, "play") as remote:
            state = await remote.state_where(lambda s: s["playing"], "the show playing", START_TIMEOUT_S)
            assert state["song"]["name"] == "song 1" and [v["name"] for v in state["voices"]] == ["click"]
            assert (await remote.request("tempo", {"bpm": 90}))["ok"] is True
            await remote.fresh_state(lambda s: s["tempo"] == 90.0, "tempo 90")

            # The same stage through the broker's TLS listener, its certificate checked against the test CA.
            tls = ["--mqtt", f"127.0.0.1:{broker.tls_port}", "--mqtt-tls-ca", str(broker.ca), "--stage", "play"]
            code = await asyncio.to_thread(encore_main, ["send", *tls, *login(broker), "mute", '{"voice": "click"}',
                                                         "--wait", str(WAIT_S)])
            assert code == 0, capsys.readouterr().err
            await remote.fresh_state(lambda s: voice(s, "click")["muted"], "the click muted")
            untrusted = ["--mqtt-tls-ca", str(broker.ca.with_name("server.crt"))]  # not the CA that signed it
            code = await asyncio.to_thread(encore_main, ["send", *tls, *untrusted, *login(broker), "next"])
            assert code == 1 and "certificate verify failed" in capsys.readouterr().err

            assert (await remote.request("stop"))["ok"] is True
            await remote.fresh_state(lambda s: not s["playing"], "the last state")

    asyncio.run(steer())
    output = played.communicate(timeout=WAIT_S)[0]
    assert played.returncode == 0, output
    assert "encore: wrote out.mid" in output


def test_a_bad_mqtt_option_is_one_line_before_anything_plays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "click.toml").write_text(CLICK_SETLIST)
    record = tmp_path / "never.mid"
    argv = ["play", str(tmp_path / "click.toml"), "--headless", "--record", str(record), "--mqtt", "localhost:99999"]
    assert encore_main(argv) == 2
    assert capsys.readouterr().err.strip() == "encore: error: --mqtt: the port must be 1-65535, got '99999'"
    assert not record.exists() and not record.with_suffix(".journal").exists()  # refused before the show
