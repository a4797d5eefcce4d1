"""Publish one command to a stage (`encore send`), optionally waiting for the show's answer.

The answer comes by MQTT 5 request/response: the command names a response topic
(`encore/<stage>/replies/<client>`) and correlation data, and the show's bridge publishes the engine's
result there (`{"ok": true, ...}` or `{"ok": false, "reason": ...}`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from encore.engine.control import Command
from encore.engine.wire import from_json
from encore.models.errors import EncoreError
from encore.stage.mqtt.connection import new_client, reason
from encore.stage.mqtt.settings import MqttSettings


class SendError(EncoreError):
    """The command could not be delivered, or no answer came in time."""


def check_locally(name: str, payload: bytes) -> Command:
    """The command `payload` describes, checked by the wire format before anything is sent.

    Seeds given by name are resolved by the show, in its setlist's folder, so only their form is checked here.

    Raises:
        CommandError: what is wrong, in one line.
    """
    return from_json(payload, name)


async def send_command(settings: MqttSettings, name: str, payload: bytes, wait_s: float | None = None
                       ) -> dict[str, Any] | None:
    """Publish `payload` to `encore/<stage>/control/<name>` (QoS 1: the broker has it when this returns).

    Args:
        settings: Broker, credentials, stage.
        name: The command.
        payload: Its JSON fields.
        wait_s: Wait this long for the show's answer (None: do not ask for one).

    Returns:
        The show's reply (`{"ok": ..., "reason"|"command": ...}`), or None when not waiting.

    Raises:
        SendError: the broker cannot be reached, or no answer came within `wait_s`.
    """
    topic = settings.topics.control(name)
    try:
        async with new_client(settings, "send") as client:
            if wait_s is None:
                await client.publish(topic, payload, qos=1)
                return None
            return await _request(client, settings, topic, payload, wait_s)
    except aiomqtt.MqttError as error:
        raise SendError(f"{settings.describe()}: {reason(error)}") from None


async def _request(client: aiomqtt.Client, settings: MqttSettings, topic: str, payload: bytes,
                   wait_s: float) -> dict[str, Any]:
    replies = settings.topics.replies(client.identifier)
    correlation = uuid.uuid4().bytes
    await client.subscribe(replies, qos=1)
    properties = Properties(PacketTypes.PUBLISH)
    properties.ResponseTopic = replies
    properties.CorrelationData = correlation
    await client.publish(topic, payload, qos=1, properties=properties)
    try:
        async with asyncio.timeout(wait_s):
            async for message in client.messages:
                if getattr(message.properties, "CorrelationData", None) == correlation:
                    return json.loads(message.payload)
    except TimeoutError:
        pass
    raise SendError(f"no answer from {settings.topics.prefix} within {wait_s:g} s "
                    f"(is `encore play --mqtt ... --stage {settings.topics.stage}` running?)")
