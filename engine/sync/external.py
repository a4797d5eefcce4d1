"""External clocks for a built show: what `encore play --clock-out/--clock-in/--link` asks, put in place.

    show = Show.build(setlist, options)
    surfaces = attach_sync(show, SyncOptions(clock_out=("Synth",), link=True))
    report = await perform_with_surfaces(show, surfaces)

`attach_sync` opens the clock outputs (sinks of the engine, given only system messages), the MIDI
clock input or the Link session (each sets the engine's start gate), and returns the surfaces that
run beside the show: the ticker feeding the clock outputs, the follower of the master or session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from encore.engine.sync.clock_in import MidiClockIn
from encore.engine.sync.clock_out import MidiClockOut
from encore.engine.sync.follower import FollowerConfig
from encore.engine.sync.link import LinkSync
from encore.engine.sync.ticker import ClockTicker
from encore.models.errors import EncoreError

if TYPE_CHECKING:
    from encore.engine.show import Show
    from encore.engine.surfaces import Surface


@dataclass(frozen=True)
class SyncOptions:
    """Which external clocks a show leads or follows.

    Attributes:
        clock_out: MIDI ports to send the show's clock to (24 ticks a beat, Start, Stop, Continue, position).
        clock_in: A MIDI port whose clock the show follows (it waits for Start, stops with Stop).
        midi_api: "alsa" or "jack" for the clock ports; None: whichever API has each.
        virtual: Create the clock ports as new virtual ports.
        link: Join an Ableton Link session and follow it.
        link_quantum: Beats per Link quantum (None: the show's bar).
        follow: How a followed clock is followed.
    """

    clock_out: tuple[str, ...] = ()
    clock_in: str | None = None
    midi_api: str | None = None
    virtual: bool = False
    link: bool = False
    link_quantum: float | None = None
    follow: FollowerConfig = field(default_factory=FollowerConfig)

    @property
    def wanted(self) -> bool:
        """Whether any external clock is asked for."""
        return bool(self.clock_out) or self.clock_in is not None or self.link


def attach_sync(show: Show, options: SyncOptions) -> list[Surface]:
    """Open what `options` ask for on `show` (before it performs); returns the surfaces to run beside it.

    Raises:
        EncoreError: if the show is not real time, both a clock input and Link are asked for (two
            masters), the quantum is not positive, or a port cannot be opened (those opened are closed).
    """
    if not options.wanted:
        return []
    if show.offline:
        raise EncoreError("external clocks need a real-time show: add --realtime (or play to a MIDI port)")
    if options.clock_in is not None and options.link:
        raise EncoreError("--clock-in and --link would both set the tempo: choose one")
    if options.link_quantum is not None and options.link_quantum <= 0:
        raise EncoreError(f"--link-quantum must be positive, got {options.link_quantum:g}")
    engine = show.engine
    outputs: list[MidiClockOut] = []
    try:
        for port in options.clock_out:
            outputs.append(MidiClockOut(port, options.midi_api, options.virtual))
        surfaces: list[Surface] = [ClockTicker(outputs)] if outputs else []
        if options.clock_in is not None:
            surfaces.append(MidiClockIn(show, options.clock_in, options.midi_api, options.virtual,
                                        follow=options.follow))
    except BaseException:
        for output in outputs:
            output.close()
        raise
    if options.link:
        surfaces.append(LinkSync(show, options.link_quantum, options.follow))
    engine.sinks.extend(outputs)  # before the show starts: the router gives them only system messages
    engine.router.sinks.extend(outputs)
    return surfaces
