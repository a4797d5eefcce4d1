"""Surfaces: what a performer steers or watches a show through (terminal UI, MQTT, MIDI controllers), and
what runs beside a show to lead or follow an external clock (`encore.engine.sync`).

The stage's surfaces build on this engine module; the engine never imports the stage.

Every surface uses the show's two sides only (`Show.submit` and `Show.snapshot`), runs as a task in
the event loop the show performs in, and is ended (cancelled) when the show ends. A surface that fails
is logged in one line and the show plays on: no surface can stop the music by breaking.

    report = await perform_with_surfaces(show, [MqttBridge(settings), ControllerInput(...)])
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from encore.engine.sinks.base import SinkStatus

if TYPE_CHECKING:
    from encore.engine.report import ShowReport
    from encore.engine.show import Show

log = logging.getLogger(__name__)


class Surface(Protocol):
    """A way into a running show beside the engine's own outputs."""

    name: str

    def status(self) -> SinkStatus:
        """Its state now, one line a screen can show (e.g. MQTT `open`, `reconnecting` and why)."""
        ...

    async def run(self, show: Show) -> None:
        """Steer or watch `show` until cancelled (or until the surface itself is done)."""
        ...


async def perform_with_surfaces(show: Show, surfaces: Sequence[Surface]) -> ShowReport:
    """`show.perform()` with every surface running beside it; surfaces are cancelled when it ends."""
    tasks = [asyncio.create_task(_guarded(surface, show), name=f"surface:{surface.name}") for surface in surfaces]
    try:
        return await show.perform()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _guarded(surface: Surface, show: Show) -> None:
    try:
        await surface.run(show)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - a broken surface must never end the show
        log.error("%s stopped: %s (the show plays on)", surface.name, error)
