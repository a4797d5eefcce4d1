"""The recorder: every event sent becomes a MIDI file, journaled on the way so a crash loses ~nothing.

`RecorderSink` journals each event as it is sent and writes the MIDI file when closed;
`recover(journal, out)` rebuilds the file from the journal after a crash or kill -9. Both go through
`events_to_midi`, which places events by beat (so the file has the show's bars and tempo changes)
and ends any note the journal left sounding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import mido

from encore.engine.journal import JournalHeader, JournalWriter, read_journal
from encore.engine.midi import TEMPO_TRACK, TIME_SIGNATURE_DENOMINATORS, MidiEvent, meta_tempo_bpm, note_off
from encore.engine.sinks.base import Sink, SinkStatus
from encore.models.midi_writer import to_track

JOURNAL_SUFFIX = ".journal"


def journal_path_for(midi_path: Path) -> Path:
    """Where the journal of a recording goes: beside it, `set.mid` -> `set.journal`."""
    return midi_path.with_suffix(JOURNAL_SUFFIX)


def events_to_midi(events: Sequence[MidiEvent], header: JournalHeader) -> mido.MidiFile:
    """A MIDI file of `events`: type 1 has a tempo track then one track per voice; type 0 one track.

    Notes still sounding after the last event are ended there.
    """
    events = [*events, *_closing_note_offs(events)]
    ticks = [max(0, round(event.beat * header.ppq)) for event in events]
    order = sorted(range(len(events)), key=lambda i: (ticks[i], i))
    numerator, denominator = header.time_signature
    meta = [mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0)]
    names = [TEMPO_TRACK] + list(dict.fromkeys(e.track for e in events if e.track != TEMPO_TRACK))
    placed: dict[str, list[tuple[int, mido.Message | mido.MetaMessage]]] = {name: [] for name in names}
    for i in order:
        event = events[i]
        track = TEMPO_TRACK if event.is_meta else event.track
        placed.setdefault(track, []).append((ticks[i], _to_mido(event)))
    midi = mido.MidiFile(type=header.midi_type, ticks_per_beat=header.ppq)
    if header.midi_type == 0:
        merged = [item for name in names for item in placed[name]]
        midi.tracks.append(to_track(merged, "encore", meta))
    else:
        midi.tracks.append(to_track(placed[TEMPO_TRACK], TEMPO_TRACK, meta))
        midi.tracks.extend(to_track(placed[name], name) for name in names[1:])
    return midi


def recover(journal: Path, out: Path, midi_type: int | None = None) -> int:
    """Rebuild the MIDI file of a show from its journal; returns the number of events recovered.

    Raises:
        JournalError: if the journal cannot be read.
    """
    header, events = read_journal(journal)
    if midi_type is not None:
        header = JournalHeader(midi_type, header.time_signature, header.ppq, header.wall_origin)
    out.parent.mkdir(parents=True, exist_ok=True)
    events_to_midi(events, header).save(out)
    return len(events)


class RecorderSink(Sink):
    """Records everything sent: journals it as it goes, writes `path` (a MIDI file) on close.

    Args:
        path: The MIDI file to write.
        midi_type: 1 (a track per voice) or 0 (one track).
        time_signature: Written into the file.
        journal: Where to journal; beside `path` by default.

    Attributes:
        recording: False while paused (`set_recording`): only tempo changes are written then.
    """

    wants_meta = True
    kind = "recorder"

    def __init__(
        self,
        path: Path,
        midi_type: int = 1,
        time_signature: tuple[int, int] = (4, 4),
        journal: Path | None = None,
    ) -> None:
        super().__init__(f"recorder:{path}")
        if midi_type not in (0, 1):
            raise ValueError(f"MIDI file type must be 0 or 1, got {midi_type}")
        if time_signature[1] not in TIME_SIGNATURE_DENOMINATORS:
            raise ValueError(f"time signature {time_signature} cannot be written to MIDI")
        self.path = path
        self.header = JournalHeader(midi_type, time_signature, wall_origin=time.time())
        self.journal = JournalWriter(journal or journal_path_for(path), self.header)
        self.events: list[MidiEvent] = []
        self.recording = True
        self._sounding: dict[tuple[int, int], str] = {}  # key -> track, notes sounding in the file
        self._lock = threading.Lock()  # the sender sends, the engine pauses

    def _send(self, event: MidiEvent) -> None:
        with self._lock:
            if not event.is_meta:
                key = (event.channel, event.message[1])
                if not self.recording or (event.is_note_off and self._sounding.pop(key, None) is None):
                    return  # paused, or the end of a note that started while paused
                if event.is_note_on:
                    self._sounding[key] = event.track
            self._write(event)

    def set_recording(self, on: bool, time: float, beat: float) -> None:
        """Resume (`on`) or pause at show `time` and `beat`; pausing ends the notes sounding in the file there."""
        with self._lock:
            if self.recording and not on:
                for key, track in sorted(self._sounding.items()):
                    self._write(MidiEvent(time, beat, note_off(*key), track))
                self._sounding.clear()
            self.recording = on

    def _write(self, event: MidiEvent) -> None:
        self.journal.write(event)
        self.events.append(event)

    def status(self) -> SinkStatus:
        """The file recorded into and the show seconds recorded so far; `paused` while paused."""
        events = self.events
        elapsed = events[-1].time if events else 0.0
        state = "closed" if self.closed else "open" if self.recording else "paused"
        return SinkStatus(self.name, self.kind, state, str(self.path), elapsed)

    def _close(self) -> None:
        self.journal.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        events_to_midi(self.events, self.header).save(self.path)


def _closing_note_offs(events: Sequence[MidiEvent]) -> list[MidiEvent]:
    sounding: dict[tuple[int, int], MidiEvent] = {}
    for event in events:
        if event.is_note_on:
            sounding[(event.channel, event.message[1])] = event
        elif event.is_note_off:
            sounding.pop((event.channel, event.message[1]), None)
    if not sounding or not events:
        return []
    last = events[-1]
    return [MidiEvent(last.time, last.beat, note_off(*key), on.track) for key, on in sorted(sounding.items())]


def _to_mido(event: MidiEvent) -> mido.Message | mido.MetaMessage:
    if event.is_meta:
        return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(meta_tempo_bpm(event.message)))
    return mido.Message.from_bytes(list(event.message))
