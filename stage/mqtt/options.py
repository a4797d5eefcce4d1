"""The MQTT options of `encore play` and `encore send`, and what they build (argparse stays at this edge).

`encore play` wires them in with two lines:

    add_mqtt_arguments(play_parser)
    surfaces += [s for s in [mqtt_surface_from_args(args)] if s is not None]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from encore.stage.mqtt.settings import DEFAULT_STAGE, MqttSettings

if TYPE_CHECKING:
    from encore.engine.surfaces import Surface


def add_mqtt_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """Add `--mqtt HOST[:PORT]`, `--stage`, `--mqtt-username`, `--mqtt-password-file`, `--mqtt-tls-ca`."""
    group = parser.add_argument_group("remote control over MQTT")
    group.add_argument("--mqtt", metavar="HOST[:PORT]", required=required,
                       help="the MQTT broker (port 1883, 8883 with --mqtt-tls-ca)"
                            + ("" if required else "; without it nothing connects anywhere"))
    group.add_argument("--stage", default=DEFAULT_STAGE,
                       help=f"topics live under encore/STAGE/ (default: {DEFAULT_STAGE})")
    group.add_argument("--mqtt-username", metavar="NAME", help="log in to the broker as NAME")
    group.add_argument("--mqtt-password-file", metavar="FILE", type=Path,
                       help="the password: this file's first line (needs --mqtt-username)")
    group.add_argument("--mqtt-tls-ca", metavar="CA", type=Path,
                       help="connect with TLS, trusting the broker's certificate if this CA signed it")


def mqtt_settings_from_args(args: argparse.Namespace) -> MqttSettings | None:
    """The settings the options ask for; None without `--mqtt`.

    Raises:
        MqttSettingsError: an option that cannot be used, named in one line.
    """
    if args.mqtt is None:
        return None
    return MqttSettings.parse(args.mqtt, args.stage, args.mqtt_username, args.mqtt_password_file, args.mqtt_tls_ca)


def mqtt_surface_from_args(args: argparse.Namespace) -> Surface | None:
    """The MQTT surface for `encore play`, or None without `--mqtt`.

    Raises:
        MqttSettingsError: an option that cannot be used, named in one line.
    """
    settings = mqtt_settings_from_args(args)
    if settings is None:
        return None
    from encore.stage.mqtt.bridge import MqttBridge  # aiomqtt only when asked for

    return MqttBridge(settings)
