"""MIDI ports through python-rtmidi: the APIs we use, listing ports, opening one by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from encore.models.errors import EncoreError

CLIENT_NAME = "encore"


class MidiPortError(EncoreError):
    """A MIDI API or port that cannot be opened."""


def api_ids() -> dict[str, int]:
    """RtMidi API constants by the names the command line takes."""
    import rtmidi

    return {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}


@dataclass(frozen=True)
class PortListing:
    """The ports an API offers: outputs we can play into, inputs we can read from."""

    api: str
    outputs: list[str]
    inputs: list[str]


def list_ports(api: str) -> PortListing:
    """Every port of `api` ("alsa" or "jack").

    Raises:
        MidiPortError: if the API is unknown or unavailable (no JACK server, no ALSA sequencer).
    """
    import rtmidi

    api_id = _api_id(api)
    try:
        out, inp = rtmidi.MidiOut(api_id, CLIENT_NAME), rtmidi.MidiIn(api_id, CLIENT_NAME)
    except (rtmidi.SystemError, rtmidi.RtMidiError) as error:
        raise MidiPortError(f"MIDI API {api} is not available: {error}") from error
    try:
        return PortListing(api, out.get_ports(), inp.get_ports())
    finally:
        out.delete()
        inp.delete()


def open_output(name: str, api: str = "alsa", virtual: bool = False) -> Any:
    """An open `rtmidi.MidiOut`: a new virtual port called `name`, or the first port whose name contains it.

    Raises:
        MidiPortError: if the API is unavailable or no port matches.
    """
    import rtmidi

    try:
        out = rtmidi.MidiOut(_api_id(api), CLIENT_NAME)
    except (rtmidi.SystemError, rtmidi.RtMidiError) as error:
        raise MidiPortError(f"MIDI API {api} is not available: {error}") from error
    if virtual:
        out.open_virtual_port(name)
        return out
    ports = out.get_ports()
    index = next((i for i, port in enumerate(ports) if name.lower() in port.lower()), None)
    if index is None:
        out.delete()
        raise MidiPortError(f"no {api} MIDI output matches {name!r}; ports: {', '.join(ports) or 'none'}")
    out.open_port(index)
    return out


def _api_id(api: str) -> int:
    ids = api_ids()
    if api not in ids:
        raise MidiPortError(f"unknown MIDI API {api!r}; choose one of {', '.join(ids)}")
    return ids[api]
