"""The terminal UI as a surface: it runs beside the show in the show's event loop and never stops it.

While the app owns the terminal, log records go to its status line (a warning written to the terminal
would tear the screen). When the show ends the app is closed and the terminal restored; when the app
fails, Textual restores the terminal, the error is reported and the show plays on (Ctrl-C stops it).

    report = await perform_with_surfaces(show, [mqtt, UiSurface(others=[mqtt])])
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from encore.engine.sinks.base import SinkStatus
from encore.stage.ui.app import StageApp, UiLogHandler
from encore.stage.ui.config import UiConfig

if TYPE_CHECKING:
    from encore.engine.show import Show
    from encore.engine.surfaces import Surface

CLOSE_TIMEOUT_S = 5.0
"""How long the app gets to close and restore the terminal once the show has ended."""


class UiFailed(RuntimeError):
    """The terminal UI stopped with an error (the show plays on)."""


class UiSurface:
    """Runs `StageApp` on the terminal for the length of a show.

    Args:
        config: The UI's settings.
        others: The show's other surfaces, whose status the UI shows and whose learn mode it drives.
        headless: Draw nothing on the terminal (Textual's headless driver: tests, benchmarks).
    """

    name = "ui"

    def __init__(self, config: UiConfig | None = None, others: Sequence[Surface] = (), headless: bool = False) -> None:
        self.config = config or UiConfig()
        self.others = list(others)
        self.headless = headless
        self.state = "starting"

    def status(self) -> SinkStatus:
        """`open` while the app runs, `closed` after, `failed` if it broke."""
        return SinkStatus(self.name, "ui", self.state)

    async def run(self, show: Show) -> None:
        """Run the app until the performer quits it or the show ends (then it is closed).

        Raises:
            UiFailed: if the app stopped with an error; the terminal is restored already.
        """
        app = StageApp(show, self.config, self.others)
        root = logging.getLogger()
        handlers = root.handlers[:]
        root.handlers = [UiLogHandler(app)]
        running = asyncio.ensure_future(app.run_async(headless=self.headless))
        self.state = "open"
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:  # the show ended: close the app, give the terminal back
            app.exit()
            await asyncio.wait([running], timeout=CLOSE_TIMEOUT_S)
            raise
        finally:
            root.handlers = handlers
            self.state = "closed"
        if app.return_code:
            self.state = "failed"
            raise UiFailed("the terminal UI stopped with an error (printed above); the show plays on, Ctrl-C stops it")
