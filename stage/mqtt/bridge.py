"""The show's MQTT surface: commands in from `encore/<stage>/control/<command>`; state, notes, errors out.

It runs beside the show (`perform_with_surfaces`), in the show's event loop, and keeps at it for the whole
show: when the broker goes away it says so in `status()` (`reconnecting in 4 s: ...`) and reconnects with
a doubling backoff, and what it had to say meanwhile (errors, replies) is published once it is back.

    show = Show.build(setlist, options)
    await perform_with_surfaces(show, [MqttBridge(MqttSettings.parse("localhost", stage="main"))])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from encore.engine.control import CommandError
from encore.engine.results import CommandResult, Rejected
from encore.engine.sinks.base import SinkStatus
from encore.stage.mqtt.connection import new_client, reason
from encore.stage.mqtt.payloads import (
    NoteFeed,
    command_from_message,
    encode,
    error_payload,
    offline_payload,
    reply_payload,
    state_payload,
)
from encore.stage.mqtt.settings import MqttSettings

if TYPE_CHECKING:
    from encore.engine.show import Show

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 1024
"""Errors and replies kept for publication (while the broker is away); the oldest are dropped beyond it."""
GOODBYE_TIMEOUT_S = 2.0
"""How long the last state (`playing: false`) may take to publish when the show ends."""
CANCEL_RETRY_S = 1.0
"""`finish` cancels a task again after this long if it is still running."""


@dataclass(frozen=True)
class Outgoing:
    """A message waiting to be published."""

    topic: str
    payload: bytes
    properties: Properties | None = None


@dataclass(frozen=True)
class ReplyTo:
    """Where an MQTT 5 request asked its answer to go (`encore send --wait`)."""

    topic: str
    correlation: bytes | None


class MqttBridge:
    """A `Surface`: remote control of a show over MQTT.

    Args:
        settings: The broker, the credentials and the stage.
    """

    name = "mqtt"

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._state = "connecting"
        self._detail = settings.describe()
        self._retry_at: float | None = None
        self._outbox: deque[Outgoing] = deque(maxlen=OUTBOX_LIMIT)
        self._wake = asyncio.Event()
        self._last_state: bytes | None = None
        self._client: aiomqtt.Client | None = None
        self._feed = NoteFeed()

    def status(self) -> SinkStatus:
        """`open`, `connecting`, `closed`, or `reconnecting` with `in N s: why` (any thread)."""
        detail = self._detail
        if self._retry_at is not None:
            detail = f"in {max(math.ceil(self._retry_at - time.monotonic()), 0)} s: {detail}"
        return SinkStatus(self.name, "mqtt", self._state, detail)

    async def run(self, show: Show) -> None:
        """Serve `show` until cancelled (the show ended), reconnecting whenever the connection is lost or refused.

        When cancelled it publishes the last state (`playing: false`), then disconnects.
        """
        serving = asyncio.create_task(self._keep_connected(show), name="mqtt-bridge")
        try:
            await asyncio.wait([serving])
            serving.result()
        finally:
            if self._client is not None:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    async with asyncio.timeout(GOODBYE_TIMEOUT_S):
                        await self._publish_state(self._client, show)
            await finish(serving)
            self._set("closed", self.settings.describe())

    async def _keep_connected(self, show: Show) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                async with new_client(self.settings, "show", self._will()) as client:
                    failures = 0
                    self._set("open", self.settings.describe())
                    await self._serve(client, show, loop)
            except aiomqtt.MqttError as error:
                if current_task_cancelling():  # failed while leaving: leave
                    raise asyncio.CancelledError from error
                failures += 1
                delay = self.settings.backoff.delay(failures)
                log.warning("mqtt: %s: %s (reconnecting in %g s)", self.settings.describe(), reason(error), delay)
                self._set("reconnecting", reason(error), time.monotonic() + delay)
                await asyncio.sleep(delay)

    def _set(self, state: str, detail: str, retry_at: float | None = None) -> None:
        self._state, self._detail, self._retry_at = state, detail, retry_at

    def _will(self) -> aiomqtt.Will:
        stage = self.settings.topics.stage
        return aiomqtt.Will(self.settings.topics.state, encode(offline_payload(stage)), qos=1, retain=True)

    async def _serve(self, client: aiomqtt.Client, show: Show, loop: asyncio.AbstractEventLoop) -> None:
        """Receive and publish until the connection fails (`MqttError`) or the show ends (cancelled)."""
        self._last_state = None  # a restarted broker may have lost the retained state: publish it again
        await client.subscribe(self.settings.topics.control_filter, qos=1)
        tasks = [asyncio.create_task(self._receive(client, show, loop)), asyncio.create_task(self._publish(client, show))]
        self._client = client
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            self._client = None
            await finish(*tasks)

    # In -------------------------------------------------------------------------------------------

    async def _receive(self, client: aiomqtt.Client, show: Show, loop: asyncio.AbstractEventLoop) -> None:
        async for message in client.messages:
            self._take(message, show, loop)

    def _take(self, message: aiomqtt.Message, show: Show, loop: asyncio.AbstractEventLoop) -> None:
        """Decode one control message and submit its command; its result is answered when known."""
        topic = str(message.topic)
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
        name = self.settings.topics.command_name(topic)
        reply_to = self._reply_to(message.properties)
        try:
            command = command_from_message(self.settings.topics, topic, payload, message.retain, show.seeds_folder)
        except CommandError as error:
            log.info("mqtt: refused %s: %s", topic, error)
            self._answer(topic, name, payload, str(error), reply_to)
            return

        def answer_in_loop(result: CommandResult) -> None:  # runs in the thread that resolved the ticket
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
                loop.call_soon_threadsafe(self._answer, topic, name, payload, result, reply_to)

        show.submit(command).add_done_callback(answer_in_loop)

    def _reply_to(self, properties: Properties | None) -> ReplyTo | None:
        topic = getattr(properties, "ResponseTopic", None)
        if not isinstance(topic, str) or not topic or topic.startswith("$") or set(topic) & {"+", "#", "\0"}:
            return None
        if topic.startswith(self.settings.topics.control("")):
            return None  # never answer into a control topic
        correlation = getattr(properties, "CorrelationData", None)
        return ReplyTo(topic, bytes(correlation) if correlation is not None else None)

    def _answer(self, topic: str, name: str, payload: bytes, result: CommandResult | str,
                reply_to: ReplyTo | None) -> None:
        """Queue an errors-topic message for a refusal, and the reply a request asked for."""
        if isinstance(result, str | Rejected):
            why = result if isinstance(result, str) else result.reason
            self._queue(Outgoing(self.settings.topics.errors, encode(error_payload(topic, name, payload, why))))
        if reply_to is not None:
            properties = None
            if reply_to.correlation is not None:
                properties = Properties(PacketTypes.PUBLISH)
                properties.CorrelationData = reply_to.correlation
            self._queue(Outgoing(reply_to.topic, encode(reply_payload(result)), properties))

    def _queue(self, message: Outgoing) -> None:
        self._outbox.append(message)
        self._wake.set()

    # Out ------------------------------------------------------------------------------------------

    async def _publish(self, client: aiomqtt.Client, show: Show) -> None:
        """Publish queued answers as they come, and the state and notes every `state_interval_s`."""
        next_state = 0.0
        while True:
            self._wake.clear()
            while self._outbox:
                # Taken before sending: a message that breaks the connection is not sent again and again.
                message = self._outbox.popleft()
                try:
                    await client.publish(message.topic, message.payload, qos=1, properties=message.properties)
                except ValueError as error:  # a reply topic paho refuses (too long, ...): drop it
                    log.info("mqtt: cannot publish to %r: %s", message.topic[:80], error)
            if time.monotonic() >= next_state:
                next_state = time.monotonic() + self.settings.state_interval_s
                await self._publish_state(client, show)
            # asyncio.timeout, not wait_for, which can swallow a cancellation in Python 3.11 (see `finish`)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(next_state - time.monotonic(), 0.0)):
                    await self._wake.wait()

    async def _publish_state(self, client: aiomqtt.Client, show: Show) -> None:
        """The retained state if it changed, and the notes played since the last call."""
        snapshot = show.snapshot()
        state = encode(state_payload(snapshot, self.settings.topics.stage))
        if state != self._last_state:
            await client.publish(self.settings.topics.state, state, qos=0, retain=True)
            self._last_state = state
        notes = self._feed.new_notes(snapshot)
        if notes is not None:
            await client.publish(self.settings.topics.notes, encode(notes), qos=0)


async def finish(*tasks: asyncio.Task[None]) -> None:
    """Cancel `tasks` and wait until they are done, cancelling again every `CANCEL_RETRY_S`.

    Once is not always enough: aiomqtt waits with Python 3.11's `asyncio.wait_for`, which swallows a
    cancellation that arrives just as its wait ends, and the task would then run on forever.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_RETRY_S)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.info("mqtt: %s ended with %s", task.get_name(), reason(task.exception()))


def current_task_cancelling() -> bool:
    """Whether the running task has been asked to stop (even if a wait swallowed the CancelledError)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
