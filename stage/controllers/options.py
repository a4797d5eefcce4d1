"""The controller options of `encore play` and what they build (argparse stays at this edge).

`encore play` wires them in with two lines:

    add_midi_in_arguments(play_parser)
    surfaces += [s for s in [controller_surface_from_args(args)] if s is not None]

`--midi-in` is looked up on `--midi-api` when given (the option `encore play` already has for
`--midi-port`), else on whichever API has the port. `--controller-map FILE` loads a mapping; a FILE
that does not exist yet starts from the shipped one, and learned bindings are saved to FILE.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from encore.models.errors import EncoreError

if TYPE_CHECKING:
    from encore.stage.controllers.surface import ControllerSurface

log = logging.getLogger(__name__)


def add_midi_in_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--midi-in NAME` and `--controller-map FILE`."""
    group = parser.add_argument_group("MIDI controllers and keyboards")
    group.add_argument("--midi-in", metavar="NAME",
                       help="MIDI input port (name or part of it): CC and notes drive the show, phrases "
                            "played become seeds; on --midi-api, or whichever API has the port")
    group.add_argument("--controller-map", metavar="FILE", type=Path,
                       help="controller mapping TOML (default: the shipped generic 8-knob mapping, knobs "
                            "CC 70-77); learned bindings are saved to it")


def controller_surface_from_args(args: argparse.Namespace) -> ControllerSurface | None:
    """The controller surface for `encore play`, or None without `--midi-in`. Opens the input port now.

    Raises:
        EncoreError: `--controller-map` without `--midi-in`, a bad mapping file (`MappingError`), or no
            matching port (`MidiPortError`, listing the ports there are), in one line.
    """
    map_path: Path | None = args.controller_map
    if args.midi_in is None:
        if map_path is not None:
            raise EncoreError("--controller-map needs --midi-in")
        return None
    from encore.stage.controllers.mapping import DEFAULT_MAPPING, load_mapping
    from encore.stage.controllers.midi_input import MidiInput
    from encore.stage.controllers.surface import ControllerSurface

    if map_path is not None and not map_path.exists():
        log.warning("controller map %s does not exist yet: starting from the shipped mapping; "
                    "learned bindings will be saved there", map_path)
    mapping = load_mapping(map_path if map_path is not None and map_path.exists() else DEFAULT_MAPPING)
    return ControllerSurface(MidiInput(args.midi_in, getattr(args, "midi_api", None)), mapping, map_path)
