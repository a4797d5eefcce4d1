"""Offline generation under the originality guard (`encore generate`): a copied passage is sampled again
before it is written; with the guard off the stream plays straight through."""

from __future__ import annotations

from originality_helpers import COOL, MELODY, STEP, CopyingStream, flagged_by, melody_index

from encore.engine.guarded_generation import generate_guarded
from encore.engine.voices.originality import TURNED_OFF, OriginalityGuard

BEATS = 40.0


def test_with_the_guard_off_the_copy_is_written() -> None:
    stream = CopyingStream(COOL)
    guard = OriginalityGuard(None, status=TURNED_OFF)
    notes = generate_guarded(stream, BEATS, guard)
    assert [note.pitch for note in notes] == [MELODY[i % len(MELODY)] for i in range(int(BEATS / STEP))]
    assert melody_index().match(notes).matched and guard.state().reviews == 0


def test_a_copied_passage_is_sampled_again_before_it_is_written() -> None:
    index = melody_index()
    stream = CopyingStream(COOL)
    guard = OriginalityGuard(index)
    flagged = flagged_by(guard)
    notes = generate_guarded(stream, BEATS, guard)
    onsets = [note.onset_beats for note in notes]
    assert onsets == [i * STEP for i in range(int(BEATS / STEP))]  # every onset once, up to the end
    assert not index.match(notes).matched  # no 7 top-line notes of the piece in a row were written
    assert flagged[0] == (index.config.run_notes - 1) * STEP and set(flagged) <= set(stream.hot)
    by_beat = {note.onset_beats: note.pitch for note in notes}
    assert all(by_beat[beat] == MELODY[round(beat / STEP) % len(MELODY)] + 1 for beat in flagged)
    state = guard.state()
    assert state.rerendered == len(flagged) >= 5 and state.let_through == 0 and state.reviews >= BEATS
    assert stream.sampling == COOL  # the hot sampling does not outlive generation


def test_a_stream_that_never_advances_stops_after_max_tokens() -> None:
    class Stuck(CopyingStream):
        def step(self) -> list:
            return []

    stream = Stuck(COOL)
    assert generate_guarded(stream, BEATS, OriginalityGuard(melody_index()), max_tokens=50) == []
