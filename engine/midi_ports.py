"""MIDI ports through python-rtmidi: the APIs we use, listing ports, opening one by name on any API.

A port is named by any part of its name (`"Synth"` matches `"FLUID Synth:Synth input port 128:0"`).
With an API named (`--midi-api alsa|jack`) only that API is searched; without one, every API in
`API_ORDER` is tried in turn and the first that has a matching port is used, so a JACK port is found
without `--midi-api jack`. When nothing matches, the one-line error lists the ports that do exist on
each API (or why an API is unavailable). python-rtmidi links the system's ALSA library; when it is
missing, the error names the Debian package to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from encore.models.errors import EncoreError

CLIENT_NAME = "encore"
API_ORDER: tuple[str, ...] = ("alsa", "jack")
"""The APIs searched, in order, when none is named: ALSA first, so a desktop without JACK never asks it."""
UNAVAILABLE = {"alsa": "unavailable (no ALSA sequencer)", "jack": "unavailable (no JACK server running)"}
SYSTEM_LIBRARIES = {"libasound": "libasound2", "libjack": "libjack-jackd2-0"}
"""Shared libraries python-rtmidi loads, and the Debian package that provides each."""

Direction = Literal["output", "input"]


class MidiPortError(EncoreError):
    """A MIDI API or port that cannot be opened."""


@dataclass(frozen=True)
class PortListing:
    """The ports an API offers: outputs we can play into, inputs we can read from."""

    api: str
    outputs: list[str]
    inputs: list[str]


@dataclass(frozen=True)
class OpenPort:
    """An open rtmidi port and where it was found.

    Attributes:
        handle: The `rtmidi.MidiOut` or `rtmidi.MidiIn`, open.
        api: The API it was opened on.
        port: The port's full name (a virtual port: the name it was created with).
    """

    handle: Any
    api: str
    port: str


def load_rtmidi() -> ModuleType:
    """The `rtmidi` module.

    Raises:
        MidiPortError: if a system library it needs is missing, naming the Debian package.
    """
    try:
        import rtmidi
    except ImportError as error:
        text = str(error)
        package = next((pkg for lib, pkg in SYSTEM_LIBRARIES.items() if lib in text), None)
        hint = f": install the Debian package {package}" if package else ""
        raise MidiPortError(f"python-rtmidi cannot be loaded ({text.splitlines()[0] if text else error}){hint}") from None
    return rtmidi


def api_ids() -> dict[str, int]:
    """RtMidi API constants by the names the command line takes."""
    rtmidi = load_rtmidi()
    return {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}


def list_ports(api: str) -> PortListing:
    """Every port of `api` ("alsa" or "jack").

    Raises:
        MidiPortError: if the API is unknown or unavailable (no JACK server, no ALSA sequencer).
    """
    out, inp = new_client("output", api), new_client("input", api)
    try:
        return PortListing(api, out.get_ports(), inp.get_ports())
    finally:
        out.delete()
        inp.delete()


def open_output(name: str, api: str | None = None, virtual: bool = False) -> OpenPort:
    """An open `rtmidi.MidiOut`: a new virtual port called `name`, or the first port whose name contains it.

    Args:
        name: Part of the port's name (or the virtual port's name).
        api: "alsa" or "jack"; None searches every API in `API_ORDER` (a virtual port goes on the first
            that is available).
        virtual: Create a virtual port instead of connecting to an existing one.

    Raises:
        MidiPortError: if no API is available or no port matches (listing the ports there are).
    """
    return _open("output", name, api, virtual)


def open_input(name: str, api: str | None = None) -> OpenPort:
    """An open `rtmidi.MidiIn` connected to the first port whose name contains `name` (API as `open_output`).

    Raises:
        MidiPortError: if no API is available or no port matches (listing the ports there are).
    """
    return _open("input", name, api, False)


def matching(ports: list[str], name: str) -> int | None:
    """Index of the first port whose name contains `name` (case-insensitive), or None."""
    return next((i for i, port in enumerate(ports) if name.lower() in port.lower()), None)


def _open(direction: Direction, name: str, api: str | None, virtual: bool) -> OpenPort:
    apis = [api] if api is not None else list(API_ORDER)
    seen: list[str] = []
    for candidate in apis:
        try:
            handle = new_client(direction, candidate)
        except MidiPortError as error:
            if api is not None:
                raise
            seen.append(f"{candidate}: {UNAVAILABLE.get(candidate, str(error))}")
            continue
        if virtual:
            handle.open_virtual_port(name)
            return OpenPort(handle, candidate, name)
        ports = handle.get_ports()
        index = matching(ports, name)
        if index is not None:
            handle.open_port(index, f"{CLIENT_NAME} {direction}")
            return OpenPort(handle, candidate, ports[index])
        handle.delete()
        seen.append(f"{candidate}: {', '.join(ports) or 'no ports'}")
    if virtual:
        raise MidiPortError(f"cannot create the virtual MIDI port {name!r} ({'; '.join(seen)})")
    raise MidiPortError(f"no MIDI {direction} matches {name!r} ({'; '.join(seen)})")


def new_client(direction: Direction, api: str) -> Any:
    """A new rtmidi client (no port open yet) on `api`."""
    rtmidi = load_rtmidi()
    api_id = _api_id(api)
    kind = rtmidi.MidiOut if direction == "output" else rtmidi.MidiIn
    try:
        return kind(api_id, CLIENT_NAME)
    except (rtmidi.SystemError, rtmidi.RtMidiError) as error:
        first = str(error).split(".")[0] if str(error) else type(error).__name__
        raise MidiPortError(f"MIDI API {api} is not available: {first}") from error


def _api_id(api: str) -> int:
    ids = api_ids()
    if api not in ids:
        raise MidiPortError(f"unknown MIDI API {api!r}; choose one of {', '.join(ids)}")
    return ids[api]
