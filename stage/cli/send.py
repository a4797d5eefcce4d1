"""`encore send`: publish one command to a show over MQTT, from a shell script or a lighting desk.

    encore send --mqtt localhost --stage main tempo '{"bpm": 100}'
    encore send --mqtt localhost next --wait          # exit 0 once applied, 1 if the show refused it

Exit codes: 0 sent (with `--wait`: applied), 1 refused by the show, no answer, or the broker unreachable,
2 a bad payload or option (checked here, before anything is sent).
"""

from __future__ import annotations

import argparse
import json
import sys

from encore.engine.wire import command_names
from encore.stage.mqtt.options import add_mqtt_arguments

DEFAULT_WAIT_S = 5.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `encore send` to the `encore` parser."""
    send = subparsers.add_parser("send", help="send one command to a show over MQTT",
                                 description="Publish one command to encore/STAGE/control/COMMAND.")
    send.add_argument("command", metavar="COMMAND", help=f"one of: {', '.join(command_names())}")
    send.add_argument("payload", metavar="JSON", nargs="?", default="",
                      help="the command's fields as a JSON object, e.g. '{\"bpm\": 100}'; '-' reads stdin")
    send.add_argument("--wait", metavar="SECONDS", type=float, nargs="?", const=DEFAULT_WAIT_S,
                      help=f"wait for the show's answer (default {DEFAULT_WAIT_S:g} s); exit 1 if refused")
    add_mqtt_arguments(send, required=True)
    send.set_defaults(handler=_send)


def _send(args: argparse.Namespace) -> int:
    import asyncio

    from encore.stage.mqtt.options import mqtt_settings_from_args
    from encore.stage.mqtt.send import SendError, check_locally, send_command

    text = sys.stdin.read() if args.payload == "-" else args.payload
    payload = text.strip().encode()
    check_locally(args.command, payload)  # CommandError: `encore: error: ...`, exit 2
    settings = mqtt_settings_from_args(args)
    assert settings is not None  # --mqtt is required
    if args.wait is not None and args.wait <= 0:
        print("encore: error: --wait: must be more than 0 seconds", file=sys.stderr)
        return 2
    try:
        reply = asyncio.run(send_command(settings, args.command, payload, args.wait))
    except SendError as error:
        print(f"encore: error: {error}", file=sys.stderr)
        return 1
    if reply is None:
        print(f"encore: sent {settings.topics.control(args.command)}")
        return 0
    if reply.get("ok") is True:
        print(f"encore: applied {json.dumps(reply.get('command'))}")
        return 0
    print(f"encore: refused: {reply.get('reason')}", file=sys.stderr)
    return 1
