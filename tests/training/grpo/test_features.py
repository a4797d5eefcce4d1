"""MusPy-style features and the diversity score on hand-made notes, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from encore.models.notes import NoteEvent
from encore.models.piano.streaming_decoder import TokenTable
from encore.models.piano.tokenizer import build_tokenizer
from encore.training.grpo import features as ft


def note(onset: float, pitch: int, duration: float, velocity: int = 64) -> NoteEvent:
    return NoteEvent(onset, pitch, velocity, duration)


def test_features_of_a_hand_made_piece() -> None:
    # beat:   0    1    2    3    4    5
    # 60:     [=========)
    # 60:       [=)                        (0.5-1.0, the same key again: one pitch, not polyphony)
    # 64:          [====)
    # 67:                        [====)
    # 61:                        [=)       (4.0-4.5)
    piece = [note(0, 60, 2, 40), note(0.5, 60, 0.5, 90), note(1, 64, 1, 70), note(4, 67, 1, 100),
             note(4, 61, 0.5, 52)]
    features = ft.piece_features(piece)
    # two pitches sound during beats 1-2 (64 over 60) and 4-4.5 (61 with 67): 1.5 of the 5 beats
    assert features.polyphony_rate == pytest.approx(1.5 / 5)
    # of beats 0..4, beats 2 and 3 are silent
    assert features.empty_beat_rate == pytest.approx(2 / 5)
    assert features.pitch_range == 67 - 60
    assert features.velocity_range == 100 - 40
    # {60, 60, 64, 67, 61}: C major holds all but 61 (Ab major holds all but 64): at most 4 of 5
    assert features.scale_consistency == pytest.approx(4 / 5)
    assert features.notes == 5
    assert features.mean_pitch == pytest.approx((60 + 60 + 64 + 67 + 61) / 5)
    assert features.mean_velocity == pytest.approx((40 + 90 + 70 + 100 + 52) / 5)
    assert features.notes_per_second == pytest.approx(5 / 2)  # the last onset, beat 4, is 2 s in at 120 bpm


def test_notes_per_second_is_over_the_pieces_span_at_the_prompt_tempo() -> None:
    piece = [note(beat, 60, 0.5) for beat in range(25)]  # one note a beat, the last on beat 24
    # beat 24 is 12 s in at 120 bpm and 24 s at 60 bpm; the whole piece counts, not the first 10 s
    assert ft.piece_features(piece).notes_per_second == pytest.approx(25 / 12)
    assert ft.piece_features(piece, qpm=60.0).notes_per_second == pytest.approx(25 / 24)
    assert ft.piece_features([note(0, 60, 1)]).notes_per_second == 1.0  # a span under a second counts as one


def test_a_held_note_fills_the_beats_it_spans_and_a_chord_is_polyphony() -> None:
    held = [note(0, 60, 3), note(5.5, 62, 0.25)]  # beats 0-2 sound, 3 and 4 are silent, 5 sounds: 2 of 6
    assert ft.empty_beat_rate(held) == pytest.approx(2 / 6)
    assert ft.polyphony_rate(held) == 0.0
    chord = [note(0, 60, 1), note(0, 64, 1), note(0, 67, 1), note(1, 72, 1)]  # three pitches, then one
    assert ft.polyphony_rate(chord) == pytest.approx(0.5)
    assert ft.empty_beat_rate(chord) == 0.0


def test_a_piece_without_notes_has_no_rates() -> None:
    features = ft.piece_features([])
    assert features.notes == 0 and features.notes_per_second == 0
    assert all(math.isnan(value) for value in (features.polyphony_rate, features.empty_beat_rate,
                                                features.pitch_range, features.scale_consistency))


def test_completion_beats_are_the_prompt_tempos() -> None:
    tokenizer = build_tokenizer()
    vocab = tokenizer.vocab
    table = TokenTable.from_tokenizer(tokenizer)
    prompt = ["BOS_None", "Bar_None", "TimeSig_4/4", "Position_0", "Tempo_60.32"]
    completion = ["Pitch_60", "Velocity_63", "Duration_1.0.8",  # beat 0, one beat
                  "Bar_None", "Position_0", "Tempo_121.29",  # bar 1 (beat 4) at twice the tempo
                  "Pitch_62", "Velocity_63", "Duration_2.0.8",
                  "Position_16", "Pitch_64", "Velocity_95", "Duration_1.0.8"]  # beat 6 of the score
    tokens = [vocab[name] for name in prompt + completion]
    assert ft.prompt_tempo_qpm(table, tokens[:5]) == pytest.approx(60.32)
    assert ft.prompt_tempo_qpm(table, tokens[:4]) == 120.0
    notes = ft.completion_notes(table, tokens, prompt_length=5)
    ratio = 60.32 / 121.29  # a beat at 121.29 bpm lasts this many prompt beats
    assert [n.pitch for n in notes] == [60, 62, 64]
    assert [n.onset_beats for n in notes] == pytest.approx([0.0, 4.0, 4.0 + 2 * ratio])
    assert [n.duration_beats for n in notes] == pytest.approx([1.0, 2 * ratio, ratio])


def test_opening_roll_is_pitch_by_sixteenths_of_the_first_sixteen_beats() -> None:
    roll = ft.opening_roll([note(0, 21, 1), note(15.5, 108, 4), note(20, 60, 1), note(2, 109, 1)])
    assert roll.shape == (89, 64)
    assert roll[0, :4].all() and roll[0].sum() == 4  # A0: the first beat's four 16ths
    assert roll[87, 62:].all() and roll[87].sum() == 2  # C8 from beat 15.5, cut at beat 16
    assert roll[88, 8:12].all()  # C#8, the highest pitch of the vocabulary
    assert roll.sum() == 10  # the note at beat 20 lies outside


def test_diversity_is_the_mean_pairwise_jaccard_distance() -> None:
    a, b, empty = np.zeros((4, 4), bool), np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    a[0, 0] = a[0, 1] = True
    b[0, 1] = b[0, 2] = True
    # a-b share 1 of 3 cells: 2/3; a-empty and b-empty: 1; empty-empty: 0
    assert ft.diversity(np.stack([a, b, empty])) == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert ft.diversity(np.stack([a, a, a])) == 0.0
    assert ft.diversity(np.stack([empty, empty])) == 0.0
    assert math.isnan(ft.diversity(np.stack([a])))


def test_chance_diversity_depends_on_density_only() -> None:
    a, b, dense = np.zeros((2, 2), bool), np.zeros((2, 2), bool), np.ones((2, 2), bool)
    a[0, :] = True
    b[:, 1] = True
    # sizes 2 and 2 of 4 cells: E[both] = 2 * 2 / 4 = 1, E[either] = 3, whichever cells they hold
    assert ft.chance_diversity(np.stack([a, b])) == pytest.approx(1 - 1 / 3)
    assert ft.chance_diversity(np.stack([a, a])) == pytest.approx(1 - 1 / 3)
    # a full roll shares every cell of any other: E[both] = 2, E[either] = 4
    assert ft.chance_diversity(np.stack([a, dense])) == pytest.approx(0.5)
