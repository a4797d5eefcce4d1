"""The controller tests use the engine tests' real JACK server (`tests/engine/conftest.py`)."""

from __future__ import annotations

from tests.engine.conftest import jack_server

__all__ = ["jack_server"]
