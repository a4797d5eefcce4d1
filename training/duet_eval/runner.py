"""One song window played by the engine on its virtual clock: the piano seeded, the melody played into it.

The show is what a stage plays: a setlist of one song (the seed written as a MIDI file at the song's
tempo, in the index's time signature, as training reads POP909), `[performer] mode = "duet"` (or
`"off"`: the same seed with nobody playing), and each MELODY note submitted as the wire command `note`
(`PerformerNote`) at its own show time, its key going up at its end, as a keyboard on `--midi-in` would.
The piano's notes are what the outputs were sent (a `MemorySink`), after the originality guard that a
show opens beside the checkpoint (`encore.engine.voices.originality`) has had its say.

The stream continues after the seed's last bar with a note, so when the seed's last bars are empty the
show starts that much before the window (`DuetRun.lead_beats`) and the melody is played from there.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from encore.engine.commands.performing import PerformerNote
from encore.engine.engine import Engine
from encore.engine.midi import NOTE_OFF, NOTE_ON
from encore.engine.performer import PerformerSettings
from encore.engine.setlist import PianoSettings, Setlist, ShowSettings, Song
from encore.engine.show import PlayOptions, Show
from encore.engine.sinks.base import MemorySink
from encore.engine.voices.piano import PianoVoice
from encore.models.notes import NoteEvent
from encore.training.duet_eval.songs import SongWindow

TICKS_PER_BEAT = 480
PIANO = "piano"


@dataclass(frozen=True)
class PianoChoice:
    """The piano judged: its checkpoint and how it samples.

    Attributes:
        checkpoint: A shipped name (`default`: models/checkpoints/piano-default) or a checkpoint folder.
        sampling_seed: Seed of the piano's sampling generator (the run is deterministic with it).
        style: A v2 checkpoint's style token (`pop` suits POP909); None for v1 checkpoints.
        torch_threads: BLAS threads (1, as on stage).
    """

    checkpoint: str = "default"
    sampling_seed: int = 0
    style: str | None = None
    torch_threads: int = 1


@dataclass(frozen=True)
class DuetRun:
    """What one show played.

    Attributes:
        notes: The piano's notes sent, in beats from the window's start.
        fed: Melody notes played into the show (0 without a performer).
        heard: Note-ons the piano was asked to hear (`Performer.heard`).
        tokens: Tokens the piano sampled.
        wall_s: Seconds the show took to render.
        show_s: Seconds of music played.
        lead_beats: Beats the show started before the window (the seed's empty last bars).
        underruns, shifted, dropped: The scheduler's counts (0 on the virtual clock).
        guard: The originality guard's summary line (`Voice.report_line`; None without a guard).
    """

    notes: tuple[NoteEvent, ...]
    fed: int
    heard: int
    tokens: int
    wall_s: float
    show_s: float
    lead_beats: float
    underruns: int
    shifted: int
    dropped: int
    guard: str | None


def write_seed(window: SongWindow, path: Path) -> Path:
    """The window's seed as a one-track MIDI file at the song's tempo and index time signature."""
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(window.bpm)))
    track.append(mido.MetaMessage("time_signature", numerator=window.measure_beats, denominator=4))
    events = []
    for note in window.seed:
        start = round(note.onset_beats * TICKS_PER_BEAT)
        events.append((start, 1, note.pitch, note.velocity))
        events.append((max(start + 1, round(note.end_beats * TICKS_PER_BEAT)), 0, note.pitch, 0))
    now = 0
    for tick, is_on, pitch, velocity in sorted(events):
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity, time=tick - now))
        now = tick
    midi.save(path)
    return path


def build_show(window: SongWindow, piano: PianoChoice, duet: bool, folder: Path) -> Show:
    """A one-song show of the window's seed at its tempo, the performer in `duet` mode or `off`."""
    seed = write_seed(window, folder / f"{window.song_id}-seed.mid")
    bars = int(window.seed_beats + window.window_beats) // window.bar_beats + 1
    setlist = Setlist(
        songs=[Song(bars=bars, seed=str(seed), tempo=window.bpm)], folder=folder,
        show=ShowSettings(time_signature=f"{window.bar_beats}/4"),
        piano=PianoSettings(checkpoint=piano.checkpoint, sampling_seed=piano.sampling_seed, style=piano.style,
                            torch_threads=piano.torch_threads),
        performer=PerformerSettings(mode="duet" if duet else "off"),
    )
    return Show.build(setlist, PlayOptions(headless=True))


def performer_plan(melody: Sequence[NoteEvent], lead_beats: float, window_beats: float,
                   time_at: Callable[[float], float]) -> list[tuple[float, int, PerformerNote]]:
    """`(show seconds, order, command)` for each key down and up of the melody (window beats) played from
    the show's start (`lead_beats` before the window) to the window's end, `time_at` giving a show beat's
    seconds; at one instant keys go up (order 0) before keys go down (order 1)."""
    plan = []
    for note in melody:
        beat = note.onset_beats + lead_beats
        if 0.0 <= beat < lead_beats + window_beats:
            end = beat + note.duration_beats
            plan.append((time_at(beat), 1, PerformerNote(note.pitch, note.velocity, beat)))
            plan.append((time_at(end), 0, PerformerNote(note.pitch, 0, end)))
    return sorted(plan, key=lambda item: item[:2])


def submit_on_time(engine: Engine, plan: list[tuple[float, int, PerformerNote]]) -> Callable[[float], None]:
    """An `on_tick` hook submitting each command at the first tick at or after its time."""
    pending = list(reversed(plan))

    def hook(now: float) -> None:
        while pending and now >= pending[-1][0] - 1e-9:
            engine.submit(pending.pop()[2])

    return hook


def sent_notes(sink: MemorySink, track: str = PIANO) -> list[NoteEvent]:
    """A track's notes as the outputs were sent them (note-on to its note-off), in show beats."""
    held: dict[int, list[tuple[float, int]]] = {}
    notes = []
    for event in sink.events:
        if event.track != track or event.is_meta or event.status not in (NOTE_ON, NOTE_OFF):
            continue
        pitch = event.message[1]
        if event.is_note_on:
            held.setdefault(pitch, []).append((event.beat, event.message[2]))
        elif held.get(pitch):
            onset, velocity = held[pitch].pop(0)
            notes.append(NoteEvent(onset, pitch, velocity, event.beat - onset))
    return sorted(notes, key=lambda n: (n.onset_beats, n.pitch))


def play_window(window: SongWindow, piano: PianoChoice, duet: bool) -> DuetRun:
    """Play the window: the seed, then (with `duet`) the melody note by note, on the virtual clock."""
    with tempfile.TemporaryDirectory(prefix="duet-eval-") as folder:
        show = build_show(window, piano, duet, Path(folder))
    engine = show.engine
    voice = engine.voices[PIANO]
    assert isinstance(voice, PianoVoice)
    lead = window.seed_beats - voice.stream.position_beats  # the seed's beats the stream read: it goes on from there
    if not 0.0 <= lead <= window.seed_beats:
        raise RuntimeError(f"song {window.song_id}: the seed was read as {voice.stream.position_beats} beats")
    sink = MemorySink()
    engine.router.sinks.append(sink)
    plan = performer_plan(window.melody, lead, window.window_beats, engine.clock.time_at) if duet else []
    show_s = engine.clock.time_at(lead + window.window_beats)
    started = time.perf_counter()
    report = engine.run_offline(show_s, on_tick=submit_on_time(engine, plan))
    wall_s = time.perf_counter() - started
    notes = tuple(NoteEvent(n.onset_beats - lead, n.pitch, n.velocity, n.duration_beats) for n in sent_notes(sink))
    counts = report.counts
    return DuetRun(notes, sum(1 for _, order, _ in plan if order == 1), len(engine.performer.heard),
                   voice.tokens, wall_s, show_s, lead, counts.underruns, counts.shifted, counts.dropped,
                   voice.report_line())
