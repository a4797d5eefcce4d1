"""A screenshot of the UI for the docs: a setlist played offline on its virtual clock, held still at a
moment, drawn by the app headless and saved as SVG (Textual's `save_screenshot`).

    python -m encore.stage.ui.screenshot docs/stage-ui.svg [--setlist setlists/band.toml] [--at 14]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from encore.engine.engine import Engine
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show
from encore.stage.ui.app import StageApp

HOLD_TIMEOUT_S = 300.0


@contextmanager
def held_at(engine: Engine, seconds: float, length_s: float) -> Iterator[None]:
    """Play `engine` offline (built with a `VirtualClock`) in a thread up to `seconds` of show time and
    hold it there, playing, while the block runs; then let it play on to `length_s` and end."""
    reached, release = threading.Event(), threading.Event()

    def hold(now: float) -> None:
        if now >= seconds and not release.is_set():
            reached.set()
            release.wait(HOLD_TIMEOUT_S)

    worker = threading.Thread(target=engine.run_offline, args=(length_s, hold), name="held-show")
    worker.start()
    try:
        if not reached.wait(HOLD_TIMEOUT_S):
            raise TimeoutError(f"the show did not reach {seconds} s")
        yield
    finally:
        release.set()
        worker.join(HOLD_TIMEOUT_S)


async def draw(show: Show, path: Path, size: tuple[int, int]) -> None:
    """Save the app's screen for `show` (as it is now) to `path`."""
    app = StageApp(show)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.poll()
        await pilot.pause()
        app.save_screenshot(path.name, str(path.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the SVG file to write")
    parser.add_argument("--setlist", type=Path, default=Path("setlists/band.toml"))
    parser.add_argument("--at", type=float, default=14.0, help="show seconds to hold at")
    parser.add_argument("--size", default="100x30", help="terminal columns x lines")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:  # a recording, so the outputs line shows one
        options = PlayOptions(headless=True, seconds=args.at + 1.0, record=Path(scratch) / "set.mid")
        show = Show.build(load_setlist(args.setlist), options)
        with held_at(show.engine, args.at, args.at + 1.0):
            asyncio.run(draw(show, args.out, (width, height)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
