"""Ableton Link through `aalink`: join a session, start on its quantum, follow it, propose tempos.

- **Join**: the session is joined (`enabled`) when the show's surfaces start; the start gate waits
  (at most `join_s`) for a peer to answer, so a show joining a session starts on its timeline.
- **Start, quantized**: the show's first beat is the session's first quantum boundary after the
  preroll. The quantum is the show's bar, so every bar line of the show is one of the session's,
  and songs (which start on bar lines, `Next` included) launch on the session's quantum.
- **Follow**: `TempoFollower` keeps the show's beats on the session's beats (modulo the quantum),
  starting at the session's tempo; a peer's tempo change is followed from the next beat.
- **Propose**: a tempo change the show makes (a performer's `SetTempo`, a song's tempo) is set on
  the session at the moment it starts in the show, so every peer follows it.

Link finds peers by UDP multicast; it is off unless a show asks for it (`encore play --link`).
Link's clock is not `time.perf_counter`'s (on Linux it counts `CLOCK_MONOTONIC_RAW`), so a reading
takes the session's beat between two reads of the engine's clock and stamps it with their middle.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from encore.engine.sinks.base import SinkStatus
from encore.engine.sync.follower import FollowerConfig, Reading, TempoFollower
from encore.models.errors import EncoreError

if TYPE_CHECKING:
    from encore.engine.show import Show

log = logging.getLogger(__name__)

JOIN_S = 1.0
"""How long the start gate waits for a peer of the session to answer."""
READ_TRIES = 5
READ_SPREAD_S = 0.0002
"""A reading whose two clock reads lie further apart than this (the thread was preempted) is taken again."""
GATE_POLL_S = 0.01

#: Link's tempo range (its own limits; the engine's are 20-400 bpm).
LINK_MIN_BPM, LINK_MAX_BPM = 20.0, 999.0


class LinkSync:
    """A show in a Link session: a surface that follows the session while the show plays.

    Args:
        show: The show (real time).
        quantum: Beats per quantum (default: the show's bar).
        follow: How the show follows.
        join_s: How long the start gate waits for a peer.

    Raises:
        EncoreError: if the Link binding `aalink` cannot be imported.
    """

    name = "link"

    def __init__(self, show: Show, quantum: float | None = None, follow: FollowerConfig | None = None,
                 join_s: float = JOIN_S) -> None:
        try:
            import aalink  # noqa: F401 - fail now, not when the show starts
        except ImportError as error:
            raise EncoreError(f"Ableton Link needs the package aalink ({error})") from None
        self.engine = show.engine
        self.wrap_beats = float(quantum if quantum is not None else self.engine.clock.bar_beats)
        self.follower = TempoFollower(self.engine, self, follow)
        self.join_s = join_s
        self.proposed = 0
        self._link: Any = None
        self._joined_at = 0.0
        show.engine.start_gate = self.wait_for_start

    @property
    def peers(self) -> int:
        """Other peers in the session now."""
        return 0 if self._link is None else int(self._link.num_peers)

    def status(self) -> SinkStatus:
        """Peers, tempo and quantum."""
        if self._link is None:
            return SinkStatus(self.name, "link", "closed", "not joined")
        return SinkStatus(self.name, "link", "open",
                          f"{self.peers} peers, {self._link.tempo:.2f} bpm, quantum {self.wrap_beats:g}")

    def join(self) -> None:
        """Join the session (in the event loop the show runs in; idempotent)."""
        if self._link is None:
            import aalink

            self._link = aalink.Link(self.engine.clock.bpm_at(0.0))
            self._link.quantum = self.wrap_beats
            self._link.enabled = True
            self._joined_at = time.perf_counter()

    def leave(self) -> None:
        """Leave the session (idempotent)."""
        if self._link is not None:
            self._link.enabled = False
            self._link = None

    # The reference the follower reads ---------------------------------------------------------

    def read(self) -> Reading | None:
        """The session's tempo and beat now, stamped on the engine's clock."""
        if self._link is None:
            return None
        for _ in range(READ_TRIES):
            before = time.perf_counter()
            beat = self._link.beat
            after = time.perf_counter()
            if after - before <= READ_SPREAD_S:
                break
        return Reading(self._link.tempo, beat, (before + after) / 2)

    def propose(self, bpm: float, at: float) -> bool:
        """Set `bpm` on the session at `at` (engine clock), when the show's own tempo changes there."""
        if self._link is None or not LINK_MIN_BPM <= bpm <= LINK_MAX_BPM:
            return False
        link = self._link
        self.proposed += 1
        asyncio.get_running_loop().call_later(max(0.0, at - time.perf_counter()), setattr, link, "tempo", bpm)
        return True

    # The start gate ------------------------------------------------------------------------------

    async def wait_for_start(self, earliest: float) -> float:
        """The engine-clock time of the session's first quantum boundary at or after `earliest`, once a
        peer answered (or `join_s` passed); the show starts at the session's tempo."""
        self.join()
        while (self.peers == 0 and time.perf_counter() < self._joined_at + self.join_s
               and not self.engine.stop_requested.is_set()):
            await asyncio.sleep(GATE_POLL_S)
        reading = self.read()
        assert reading is not None  # joined above
        when = max(earliest, time.perf_counter())
        beat_then = reading.beat + (when - reading.at) * reading.bpm / 60.0
        boundary = math.ceil(beat_then / self.wrap_beats - 1e-9) * self.wrap_beats
        self.follower.start_tempo(reading.bpm)
        log.info("link: %d peers, starting at session beat %g (%.2f bpm)", self.peers, boundary, reading.bpm)
        return reading.at + (boundary - reading.beat) * 60.0 / reading.bpm

    async def run(self, show: Show) -> None:
        """Join, follow the session until the show ends (cancelled then), and leave."""
        self.join()
        try:
            await self.follower.run()
        finally:
            self.leave()
