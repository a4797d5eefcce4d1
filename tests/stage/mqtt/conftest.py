"""Fixtures of the MQTT tests: a real mosquitto broker (see `mosquitto_broker`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_broker import MISSING, MOSQUITTO, Broker, configure


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private mosquitto for this module: 127.0.0.1 only (plain and TLS), no anonymous login, one user."""
    if not Path(MOSQUITTO).exists() or shutil.which("mosquitto_passwd") is None or shutil.which("openssl") is None:
        pytest.fail(MISSING, pytrace=False)
    broker = configure(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
