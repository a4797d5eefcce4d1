"""A remote control for the tests: a real aiomqtt client on a stage's topics that records what arrives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiomqtt
from mosquitto_broker import Broker
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from encore.stage.mqtt.settings import StageTopics

WAIT_S = 20.0
"""Generous: the machine is shared and loaded."""

Check = Callable[[dict[str, Any]], bool]


def client(broker: Broker, username: str | None = "", password: str | None = "") -> aiomqtt.Client:
    """An MQTT 5 client of `broker`, logged in as its user unless other credentials are given."""
    return aiomqtt.Client(broker.host, broker.port, username=broker.username if username == "" else username,
                          password=broker.password if password == "" else password,
                          protocol=aiomqtt.ProtocolVersion.V5, timeout=WAIT_S)


class Remote:
    """Subscribed to a stage's state, notes, errors and its own replies; `send` publishes a command."""

    def __init__(self, broker: Broker, stage: str = "main") -> None:
        self.topics = StageTopics(stage)
        self.client = client(broker)
        self.messages: dict[str, list[aiomqtt.Message]] = defaultdict(list)
        self.replies: dict[bytes, dict[str, Any]] = {}
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._reply_topic = self.topics.replies(f"test-{uuid.uuid4().hex[:8]}")

    async def __aenter__(self) -> Remote:
        await self.client.__aenter__()
        for topic in (self.topics.state, self.topics.notes, self.topics.errors, self._reply_topic):
            await self.client.subscribe(topic, qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        with contextlib.suppress(aiomqtt.MqttError):
            await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self.client.messages:
            topic = str(message.topic)
            async with self._arrived:
                if topic == self._reply_topic:
                    self.replies[bytes(message.properties.CorrelationData)] = json.loads(message.payload)
                else:
                    self.messages[topic].append(message)
                self._arrived.notify_all()

    def payloads(self, topic: str) -> list[dict[str, Any]]:
        """Every JSON payload received on `topic`, oldest first."""
        return [json.loads(message.payload) for message in self.messages[topic]]

    async def send(self, command: str, payload: bytes | dict[str, Any] | None = None, retain: bool = False,
                   topic: str | None = None) -> bytes:
        """Publish to `encore/<stage>/control/<command>` (or `topic`), asking for a reply; returns its key."""
        correlation = uuid.uuid4().bytes
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = self._reply_topic
        properties.CorrelationData = correlation
        data = json.dumps(payload).encode() if isinstance(payload, dict) else payload or b""
        await self.client.publish(topic or self.topics.control(command), data, qos=1, retain=retain,
                                  properties=properties)
        return correlation

    async def request(self, command: str, payload: bytes | dict[str, Any] | None = None) -> dict[str, Any]:
        """`send`, then the show's reply."""
        key = await self.send(command, payload)
        await self.until(lambda: key in self.replies, f"a reply to {command}")
        return self.replies[key]

    async def state_where(self, check: Check, what: str, timeout: float = WAIT_S) -> dict[str, Any]:
        """The first state received (from now on or already) that passes `check`."""
        await self.until(lambda: any(check(s) for s in self.payloads(self.topics.state)), what, timeout)
        return next(s for s in self.payloads(self.topics.state) if check(s))

    async def fresh_state(self, check: Check, what: str) -> dict[str, Any]:
        """The first state received from now on that passes `check`."""
        seen = len(self.messages[self.topics.state])
        await self.until(lambda: any(check(s) for s in self.payloads(self.topics.state)[seen:]), what)
        return next(s for s in self.payloads(self.topics.state)[seen:] if check(s))

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        """Wait until `condition()` holds; fail saying `what` was awaited."""
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(condition)
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout} s") from None


def voice(state: dict[str, Any], name: str) -> dict[str, Any]:
    """One voice of a state payload."""
    return next(v for v in state["voices"] if v["name"] == name)
