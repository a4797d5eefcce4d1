"""One way to open an aiomqtt client from `MqttSettings` (the show's bridge and `encore send` both use it)."""

from __future__ import annotations

import uuid

import aiomqtt

from encore.stage.mqtt.settings import MqttSettings


def new_client(settings: MqttSettings, role: str, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
    """An MQTT 5 client (so replies can name a response topic) for `settings`; connect with `async with`.

    Args:
        settings: Broker, credentials, TLS.
        role: Part of the client identifier (`encore-<role>-<stage>-<random>`), so a broker's log says who.
        will: What the broker publishes if the connection dies without a goodbye.
    """
    tls = aiomqtt.TLSParameters(ca_certs=str(settings.tls_ca)) if settings.tls_ca is not None else None
    return aiomqtt.Client(
        settings.host, settings.port, username=settings.username, password=settings.password,
        identifier=client_identifier(settings, role), protocol=aiomqtt.ProtocolVersion.V5, will=will,
        tls_params=tls, timeout=settings.timeout_s, keepalive=max(int(settings.timeout_s), 5),
    )


def client_identifier(settings: MqttSettings, role: str) -> str:
    """`encore-<role>-<stage>-<8 hex digits>`: unique, so two shows never kick each other off the broker."""
    return f"encore-{role}-{settings.topics.stage}-{uuid.uuid4().hex[:8]}"


def reason(error: BaseException) -> str:
    """An aiomqtt (or socket) error as one short line for a status or an error message."""
    text = " ".join(str(error).split()) or type(error).__name__
    cause = error.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} ({' '.join(str(cause).split())})"
    return text
