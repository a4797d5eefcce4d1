"""The engine's subcommands: `encore play`, `encore ports`, `encore recover`.

`encore play` performs a show with its surfaces beside it: the terminal UI when run in a terminal
(not `--headless`, not `--no-ui`), MQTT with `--mqtt`, MIDI controllers with `--midi-in`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from encore.stage.cli.guard_options import add_guard_arguments, guard_from_args
from encore.stage.cli.sync_options import add_sync_arguments, sync_surfaces
from encore.stage.controllers.options import add_midi_in_arguments, controller_surface_from_args
from encore.stage.mqtt.options import add_mqtt_arguments, mqtt_surface_from_args

if TYPE_CHECKING:
    from encore.engine.report import ShowReport
    from encore.engine.show import Show
    from encore.engine.surfaces import Surface

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the engine's subcommands to the `encore` parser."""
    play = subparsers.add_parser("play", help="play a setlist live, or render it headless")
    play.add_argument("setlist", type=Path, help="TOML setlist")
    play.add_argument("--headless", action="store_true",
                      help="no sound card: render --wav and --record, faster than real time unless --realtime")
    play.add_argument("--realtime", action="store_true", help="pace a headless show by the wall clock")
    play.add_argument("--seconds", type=float, help="stop after N seconds (default: the setlist's length)")
    play.add_argument("--record", type=Path, help="record to this MIDI file (journaled beside it as .journal)")
    play.add_argument("--midi-type", type=int, choices=(0, 1), default=None,
                      help="MIDI file type of --record (default: the setlist's [outputs], else 1)")
    play.add_argument("--wav", type=Path, help="render audio to this WAV file")
    play.add_argument("--midi-port", help="MIDI output: an existing port (name or part of it)")
    play.add_argument("--virtual-port", action="store_true", help="create --midi-port as a new virtual port")
    play.add_argument("--midi-api", choices=("alsa", "jack"), default=None,
                      help="MIDI API for --midi-port and --midi-in (default: whichever has the port)")
    play.add_argument("--soundfont", type=Path, help="a .sf2/.sf3 file (default: FluidR3_GM)")
    play.add_argument("--audio-device", help="live audio output, a name or part of it (default: JACK's if a "
                      "JACK server runs, else the default device)")
    play.add_argument("--no-ui", action="store_true", help="no terminal UI, even when run in a terminal")
    add_guard_arguments(play, "the setlist's [guard], else on at the index's own threshold")
    add_mqtt_arguments(play)
    add_midi_in_arguments(play)
    add_sync_arguments(play)
    play.set_defaults(handler=_play)

    ports = subparsers.add_parser("ports", help="list MIDI ports")
    ports.add_argument("--midi-api", choices=("alsa", "jack"), default=None, help="only this API")
    ports.set_defaults(handler=_ports)

    recover = subparsers.add_parser("recover", help="rebuild a recording's MIDI file from its journal")
    recover.add_argument("journal", type=Path)
    recover.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    recover.add_argument("--midi-type", type=int, choices=(0, 1), default=None, help="override the file type")
    recover.set_defaults(handler=_recover)


def _play(args: argparse.Namespace) -> int:
    from encore.engine.setlist import load_setlist
    from encore.engine.show import PlayOptions, Show

    logging.basicConfig(level=logging.WARNING, format="encore: %(message)s")
    setlist = load_setlist(args.setlist)
    setlist = replace(setlist, guard=guard_from_args(args, setlist.guard))
    record, wav = args.record, args.wav
    if args.headless and record is None and wav is None and setlist.outputs.record is None and setlist.outputs.wav is None:
        record, wav = Path("out") / f"{args.setlist.stem}.mid", Path("out") / f"{args.setlist.stem}.wav"
    options = PlayOptions(
        headless=args.headless, realtime=args.realtime, seconds=args.seconds, record=record,
        midi_type=args.midi_type, wav=wav, midi_port=args.midi_port, midi_api=args.midi_api,
        virtual_port=args.virtual_port, soundfont=args.soundfont, audio_device=args.audio_device,
    )
    offline = options.with_outputs(setlist).offline
    surfaces: list[Surface] = [s for s in (mqtt_surface_from_args(args), controller_surface_from_args(args))
                               if s is not None]
    if not args.headless and not args.no_ui and sys.stdin.isatty() and sys.stdout.isatty():
        from encore.stage.ui.surface import UiSurface

        surfaces.append(UiSurface(others=list(surfaces)))
    print(f"encore: playing {args.setlist} ({'offline' if offline else 'real time'})", flush=True)
    show = Show.build(setlist, options)
    surfaces += sync_surfaces(show, args)
    report = asyncio.run(perform_until_signalled(show, surfaces))
    print(f"encore: {report.summary()}")
    for path in (show.options.record, show.options.wav) if show.options is not None else ():
        if path is not None:
            print(f"encore: wrote {path}")
    return 0


async def perform_until_signalled(show: Show, surfaces: Sequence[Surface] = ()) -> ShowReport:
    """`show.perform()` with `surfaces` beside it (`perform_with_surfaces`), SIGINT and SIGTERM stopping the
    show as `Stop` does (the command line's edge)."""
    from encore.engine.surfaces import perform_with_surfaces

    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, show.stop)
    try:
        return await perform_with_surfaces(show, surfaces)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _ports(args: argparse.Namespace) -> int:
    from encore.engine.midi_ports import MidiPortError, api_ids, list_ports

    for api in [args.midi_api] if args.midi_api else list(api_ids()):
        try:
            listing = list_ports(api)
        except MidiPortError as error:
            print(f"{api}: unavailable ({error})")
            continue
        print(f"{api} outputs: {', '.join(listing.outputs) or 'none'}")
        print(f"{api} inputs:  {', '.join(listing.inputs) or 'none'}")
    return 0


def _recover(args: argparse.Namespace) -> int:
    from encore.engine.sinks.recorder import recover

    count = recover(args.journal, args.out, args.midi_type)
    print(f"encore: recovered {count} events into {args.out}", file=sys.stdout)
    return 0
