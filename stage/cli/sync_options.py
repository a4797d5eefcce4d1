"""The external-clock options of `encore play`: MIDI clock out and in, Ableton Link (`encore.engine.sync`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from encore.engine.sync.external import SyncOptions, attach_sync

if TYPE_CHECKING:
    from encore.engine.show import Show
    from encore.engine.surfaces import Surface


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--clock-out`, `--clock-in`, `--clock-api`, `--clock-virtual`, `--link`, `--link-quantum`."""
    group = parser.add_argument_group("external clocks (real-time shows only)")
    group.add_argument("--clock-out", action="append", default=[], metavar="PORT",
                       help="send MIDI clock (24 a beat, start, stop, continue, song position) to this port; repeatable")
    group.add_argument("--clock-in", metavar="PORT",
                       help="follow the MIDI clock from this port: wait for its Start, follow its tempo, stop with it")
    group.add_argument("--clock-api", choices=("alsa", "jack"), default=None,
                       help="MIDI API of the clock ports (default: whichever API has each)")
    group.add_argument("--clock-virtual", action="store_true", help="create the clock ports as new virtual ports")
    group.add_argument("--link", action="store_true",
                       help="join an Ableton Link session: start on its quantum, follow it, propose tempo changes")
    group.add_argument("--link-quantum", type=float, default=None, metavar="BEATS",
                       help="beats per Link quantum (default: the show's bar)")


def sync_from_args(args: argparse.Namespace) -> SyncOptions:
    """The `SyncOptions` the options ask for."""
    return SyncOptions(clock_out=tuple(args.clock_out), clock_in=args.clock_in, midi_api=args.clock_api,
                       virtual=args.clock_virtual, link=args.link, link_quantum=args.link_quantum)


def sync_surfaces(show: Show, args: argparse.Namespace) -> list[Surface]:
    """Open the external clocks the options ask for on `show`; the surfaces to run beside it.

    Raises:
        EncoreError: what cannot be done, in one line (see `attach_sync`).
    """
    return attach_sync(show, sync_from_args(args))
