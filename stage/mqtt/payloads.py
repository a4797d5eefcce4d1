"""What goes over the wire, without the wire: commands read from control messages, and the JSON of the
state, notes, errors and replies topics. Pure functions and one small class, so tests need no broker.

    state  {"online": true, "stage": "main", "playing": true, "tempo": 120.0, "song": {...}, "bar": 3, ...}
    notes  {"beats": 12.1, "tempo": 120.0, "notes": [{"voice": "piano", "channel": 0, "onset_beats": 12.0,
            "pitch": 60, "velocity": 90}]}
    errors {"topic": "encore/main/control/tempo", "command": "tempo", "reason": "tempo.bpm: must be ...",
            "payload": "{\"bpm\": 9000}", "bytes": 13}
    reply  {"ok": true, "command": {"command": "tempo", "bpm": 100.0}}   or   {"ok": false, "reason": "..."}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from encore.engine.control import Command, CommandError
from encore.engine.note_log import Note
from encore.engine.results import CommandResult, Rejected
from encore.engine.snapshot import ShowSnapshot
from encore.engine.wire import from_json, to_dict
from encore.stage.mqtt.settings import StageTopics

ERROR_PAYLOAD_CHARS = 200
"""How much of a refused payload an errors-topic message quotes."""
RETAINED_REFUSED = "retained commands are ignored: publish commands without the retain flag"


def command_from_message(topics: StageTopics, topic: str, payload: bytes, retained: bool,
                         seeds: Path | None) -> Command:
    """The command a control message asks for (the topic names it, the payload holds its fields).

    Args:
        topics: The stage's topics.
        topic: The message's topic, under `topics.control_filter`.
        payload: Its bytes: a JSON object of the command's fields (empty for none).
        retained: A retained message (replayed by the broker on every connection) is refused, so an old
            `stop` can never end a later show.
        seeds: The setlist's folder, where seeds given by name are found.

    Raises:
        CommandError: what is wrong, in one line.
    """
    if retained:
        raise CommandError(RETAINED_REFUSED)
    return from_json(payload, topics.command_name(topic), seeds)


def state_payload(snapshot: ShowSnapshot, stage: str) -> dict[str, Any]:
    """The retained state: the snapshot's `to_dict()`, plus `online`, `stage` and `tempo` (its bpm).

    Each voice's `recent_notes` is left out: the notes topic carries the notes, and the state stays
    small enough to publish ten times a second.
    """
    state = snapshot.to_dict()
    for voice in state["voices"]:
        voice.pop("recent_notes", None)
    return {"online": True, "stage": stage, "tempo": snapshot.tempo_bpm, **state}


def offline_payload(stage: str) -> dict[str, Any]:
    """The state left retained if the show's connection dies without a goodbye (the MQTT will)."""
    return {"online": False, "stage": stage, "playing": False}


def error_payload(topic: str, command: str, payload: bytes, reason: str) -> dict[str, Any]:
    """An errors-topic message: which topic, the command named, why, and the payload's start."""
    return {"topic": topic, "command": command, "reason": reason,
            "payload": payload[:ERROR_PAYLOAD_CHARS].decode("utf-8", errors="replace"), "bytes": len(payload)}


def reply_payload(result: CommandResult | str) -> dict[str, Any]:
    """A reply to `encore send --wait`: the engine's result, or the reason a payload was refused."""
    if isinstance(result, str):
        return {"ok": False, "reason": result}
    if isinstance(result, Rejected):
        return {"ok": False, "reason": result.reason, "command": to_dict(result.command)}
    return {"ok": True, "command": to_dict(result.command)}


def encode(data: dict[str, Any]) -> bytes:
    """Compact JSON bytes (non-finite numbers are already None in every payload here)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


@dataclass
class NoteFeed:
    """Turns successive snapshots into the notes topic: each note once, when first seen sounding.

    A snapshot carries each voice's last bars of notes; the feed remembers, per voice, the latest
    onset it published and the pitches at that onset, and passes on only what came after. A visual
    needs one note per key and onset, so a key re-struck at the same onset is published once.
    """

    _latest: dict[str, tuple[float, set[int]]] = field(default_factory=dict)

    def new_notes(self, snapshot: ShowSnapshot) -> dict[str, Any] | None:
        """The notes-topic message for what `snapshot` adds, or None if it adds nothing."""
        notes = []
        for voice in snapshot.voices:
            for onset, pitch, velocity, _ in self._fresh(voice.name, voice.recent_notes):
                notes.append({"voice": voice.name, "channel": voice.channel, "onset_beats": onset,
                              "pitch": pitch, "velocity": velocity})
        if not notes:
            return None
        return {"beats": snapshot.beats, "tempo": snapshot.tempo_bpm, "notes": notes}

    def _fresh(self, voice: str, recent: tuple[Note, ...]) -> list[Note]:
        """The notes of `recent` (sorted by onset) not published yet; a key struck twice at once counts once."""
        latest, pitches = self._latest.get(voice, (float("-inf"), set()))
        fresh = []
        for note in recent:
            onset, pitch = note[0], note[1]
            if onset < latest or (onset == latest and pitch in pitches):
                continue
            if onset > latest:
                latest, pitches = onset, set()
            pitches.add(pitch)
            fresh.append(note)
        self._latest[voice] = (latest, pitches)
        return fresh
