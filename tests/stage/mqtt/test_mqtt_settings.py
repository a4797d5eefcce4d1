"""The MQTT options and settings: addresses, stages, password files, topics, backoff. No broker needed."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from encore.stage.mqtt.options import add_mqtt_arguments, mqtt_settings_from_args, mqtt_surface_from_args
from encore.stage.mqtt.settings import Backoff, MqttSettings, MqttSettingsError, StageTopics, parse_address


@pytest.mark.parametrize(("address", "expected"), [
    ("localhost", ("localhost", 1883)),
    ("broker.local:1884", ("broker.local", 1884)),
    ("10.0.0.2:65535", ("10.0.0.2", 65535)),
    ("[::1]", ("::1", 1883)),
    ("[::1]:8884", ("::1", 8884)),
    ("::1", ("::1", 1883)),
])
def test_addresses(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize(("address", "message"), [
    ("", "expected HOST"), (":1883", "expected HOST"), ("host:0", "1-65535"), ("host:65536", "1-65535"),
    ("host:http", "1-65535"), ("[::1]x", r"\[ADDRESS\]:PORT"), ("my host", "expected HOST"),
])
def test_bad_addresses_are_one_line_naming_the_option(address: str, message: str) -> None:
    with pytest.raises(MqttSettingsError, match=f"^--mqtt: .*{message}"):
        parse_address(address)


def test_tls_changes_the_default_port_and_the_scheme(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not checked until connecting")
    assert MqttSettings.parse("broker", tls_ca=ca).port == 8883
    assert MqttSettings.parse("broker:9000", tls_ca=ca).describe() == "mqtts://broker:9000 encore/encore"
    assert MqttSettings.parse("::1", stage="main").describe() == "mqtt://[::1]:1883 encore/main"
    with pytest.raises(MqttSettingsError, match="^--mqtt-tls-ca: no such file"):
        MqttSettings.parse("broker", tls_ca=tmp_path / "missing.crt")


def test_the_password_is_the_first_line_of_its_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("pass word\nignored\n")
    settings = MqttSettings.parse("broker", username="u", password_file=password)
    assert (settings.username, settings.password) == ("u", "pass word")
    with pytest.raises(MqttSettingsError, match="needs --mqtt-username"):
        MqttSettings.parse("broker", password_file=password)
    for content, message in [(b"", "is empty"), (b"\n\n", "is empty"), (b"\xff\xfe", "not UTF-8"),
                             (b"x" * 5000, "larger than")]:
        password.write_bytes(content)
        with pytest.raises(MqttSettingsError, match=message):
            MqttSettings.parse("broker", username="u", password_file=password)
    with pytest.raises(MqttSettingsError, match="^--mqtt-password-file: cannot read"):
        MqttSettings.parse("broker", username="u", password_file=tmp_path / "missing")


@pytest.mark.parametrize("stage", ["", "a/b", "a+", "#", "x" * 65, "nul\0"])
def test_a_stage_is_one_topic_level(stage: str) -> None:
    with pytest.raises(MqttSettingsError, match="^--stage: "):
        StageTopics(stage)


def test_topics() -> None:
    topics = StageTopics("main")
    assert topics.control("tempo") == "encore/main/control/tempo"
    assert topics.control_filter == "encore/main/control/#"
    assert (topics.state, topics.notes, topics.errors) == ("encore/main/state", "encore/main/notes", "encore/main/errors")
    assert topics.command_name("encore/main/control/tempo") == "tempo"
    assert topics.command_name("encore/main/control/tempo/now") == "tempo/now"  # deeper: an unknown command
    assert StageTopics().prefix == "encore/encore"


def test_backoff_doubles_up_to_its_ceiling() -> None:
    assert [Backoff(1.0, 10.0).delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert Backoff(0.2, 1.0).delay(1) == 0.2


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_mqtt_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_mqtt_nothing_is_built(tmp_path: Path) -> None:
    assert mqtt_settings_from_args(parse()) is None
    assert mqtt_surface_from_args(parse("--stage", "main")) is None


def test_the_options_build_a_surface_that_has_not_connected_yet(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("secret\n")
    surface = mqtt_surface_from_args(parse("--mqtt", "127.0.0.1:1884", "--stage", "main", "--mqtt-username", "me",
                                           "--mqtt-password-file", str(password)))
    assert surface is not None and surface.name == "mqtt"
    status = surface.status()
    assert (status.kind, status.state, status.detail) == ("mqtt", "connecting", "mqtt://127.0.0.1:1884 encore/main")
    with pytest.raises(MqttSettingsError, match="^--stage"):
        mqtt_surface_from_args(parse("--mqtt", "localhost", "--stage", "a/b"))
