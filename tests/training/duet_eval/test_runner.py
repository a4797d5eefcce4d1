"""The duet evaluation's shows on the engine's virtual clock (tiny random piano): the seed file, the
melody played note by note and heard, the notes sent read back, determinism, and a seed's empty last bar."""

from __future__ import annotations

from pathlib import Path

import mido

from encore.engine.commands.performing import PerformerNote
from encore.engine.midi import MidiEvent
from encore.engine.sinks.base import MemorySink
from encore.models.notes import NoteEvent
from encore.training.duet_eval.chords import chord_span
from encore.training.duet_eval.runner import PianoChoice, performer_plan, play_window, sent_notes, write_seed
from encore.training.duet_eval.songs import SongWindow

TINY = PianoChoice("tiny", sampling_seed=3)


def window(seed: tuple[NoteEvent, ...] | None = None) -> SongWindow:
    """Two bars at 120 bpm after a one-bar seed in 2/4 measures; five melody notes, one sounding from the seed."""
    melody = (NoteEvent(-0.5, 71, 90, 1.0), NoteEvent(0.0, 72, 90, 1.0), NoteEvent(1.5, 74, 90, 0.5),
              NoteEvent(4.0, 76, 90, 2.0), NoteEvent(6.5, 72, 90, 1.0))
    return SongWindow(
        song_id="001", bpm=120.0, measure_beats=2, bar_beats=4, start_beats=16.0, window_beats=8.0,
        seed=seed or (NoteEvent(0.0, 48, 80, 1.0), NoteEvent(1.0, 55, 80, 1.0), NoteEvent(2.0, 60, 80, 2.0)),
        seed_beats=4.0, melody=melody, accompaniment=(), chords=(chord_span(0, 8, "C:maj"),),
        distribution={frozenset({0, 4, 7}): 1.0})


def test_the_seed_file_has_the_tempo_the_index_metre_and_the_notes(tmp_path: Path) -> None:
    midi = mido.MidiFile(write_seed(window(), tmp_path / "seed.mid"))
    messages = list(midi.tracks[0])
    assert [m.tempo for m in messages if m.type == "set_tempo"] == [500_000]
    assert [(m.numerator, m.denominator) for m in messages if m.type == "time_signature"] == [(2, 4)]
    tick, onsets = 0, []
    for message in messages:
        tick += message.time
        if message.type == "note_on" and message.velocity:
            onsets.append((tick, message.note))
    assert onsets == [(0, 48), (480, 55), (960, 60)]


def test_the_melody_is_played_from_the_shows_start_keys_up_before_keys_down() -> None:
    plan = performer_plan(window().melody, 0.0, 8.0, lambda beat: beat / 2.0)
    assert [(t, order, c) for t, order, c in plan][:4] == [
        (0.0, 1, PerformerNote(72, 90, 0.0)), (0.5, 0, PerformerNote(72, 0, 1.0)),
        (0.75, 1, PerformerNote(74, 90, 1.5)), (1.0, 0, PerformerNote(74, 0, 2.0))]
    assert len(plan) == 8  # the note begun in the seed bars is not played
    assert len(performer_plan(window().melody, 1.0, 8.0, lambda beat: beat / 2.0)) == 10  # a beat of lead: it is


def test_sent_notes_pairs_each_note_on_with_its_note_off() -> None:
    sink = MemorySink()
    for beat, message, track in [(0.0, (0x90, 60, 80), "piano"), (0.5, (0x90, 64, 70), "piano"),
                                 (0.5, (0x90, 67, 70), "drums"), (1.0, (0x80, 60, 0), "piano"),
                                 (1.5, (0x90, 64, 0), "piano"), (2.0, (0xB0, 64, 0), "piano")]:
        sink.send(MidiEvent(beat / 2, beat, message, track))
    assert sent_notes(sink) == [NoteEvent(0.0, 60, 80, 1.0), NoteEvent(0.5, 64, 70, 1.0)]


def test_a_duet_hears_every_melody_note_and_is_deterministic() -> None:
    duet = play_window(window(), TINY, duet=True)
    assert (duet.fed, duet.heard, duet.lead_beats, duet.show_s) == (4, 4, 0.0, 4.0)
    assert (duet.underruns, duet.shifted, duet.dropped, duet.guard) == (0, 0, 0, None)  # no guard for the tiny piano
    assert duet.notes and duet.tokens > 0
    assert play_window(window(), TINY, duet=True).notes == duet.notes
    free = play_window(window(), TINY, duet=False)
    assert (free.fed, free.heard) == (0, 0)
    assert free.notes != duet.notes


def test_a_seed_whose_last_measure_is_empty_starts_the_show_that_much_earlier() -> None:
    run = play_window(window(seed=(NoteEvent(0.0, 48, 80, 1.0), NoteEvent(1.0, 55, 80, 0.5))), TINY, duet=True)
    assert run.lead_beats == 2.0  # the seed's second 2/4 measure has no note: the stream goes on from beat 2
    assert (run.fed, run.heard, run.show_s) == (5, 5, 5.0)  # the note from the seed bar is played too
