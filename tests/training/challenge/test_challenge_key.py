"""Key estimation (Krumhansl-Kessler), time on the seed's scale, and the key bias of an entry."""

from __future__ import annotations

import pytest

from encore.models.piano.checkpoint import PianoBundle
from encore.models.piano.stream import PianoStream
from encore.training.challenge.entry import key_bias
from encore.training.challenge.key import Key, estimate_key, in_scale_fraction, scale_pitch_classes
from encore.training.challenge.report import entry_report
from encore.training.challenge.timeline import TimedNote

C_MAJOR_SCALE = (60, 62, 64, 65, 67, 69, 71, 72)
A_HARMONIC_MINOR = (57, 59, 60, 62, 64, 65, 68, 69)


def melody(pitches: tuple[int, ...], start_s: float = 0.0, step_s: float = 0.5, tonic_hold_s: float = 2.0) -> list[TimedNote]:
    """The pitches one after another, then the first held (so the tonic weighs most, as in music)."""
    notes = [TimedNote(start_s + i * step_s, start_s + (i + 1) * step_s, p, 80) for i, p in enumerate(pitches)]
    end = start_s + len(pitches) * step_s
    return notes + [TimedNote(end, end + tonic_hold_s, pitches[0], 80)]


@pytest.mark.parametrize("shift", range(12))
def test_a_transposed_major_scale_is_found_in_its_transposed_key(shift: int) -> None:
    key = estimate_key(melody(tuple(p + shift for p in C_MAJOR_SCALE)))
    assert key is not None and (key.tonic, key.minor) == (shift % 12, False)


def test_harmonic_minor_is_minor_with_its_raised_leading_tone_in_the_scale() -> None:
    key = estimate_key(melody(A_HARMONIC_MINOR))
    assert key is not None and key.name == "A minor"
    assert scale_pitch_classes(key) == {9, 11, 0, 2, 4, 5, 7, 8}


def test_too_few_pitch_classes_have_no_key() -> None:
    assert estimate_key([TimedNote(0.0, 1.0, 60, 80), TimedNote(1.0, 2.0, 67, 80)]) is None


def test_time_on_the_scale_weighs_each_note_by_its_length() -> None:
    c_major = Key(0, minor=False)
    notes = [TimedNote(0.0, 3.0, 60, 80), TimedNote(3.0, 4.0, 61, 80)]  # 3 s of C, 1 s of C#
    assert in_scale_fraction(notes, c_major) == pytest.approx(0.75)
    assert in_scale_fraction([], c_major) is None


def test_the_report_gives_the_seeds_key_and_time_on_its_scale_per_chunk() -> None:
    seed = melody(C_MAJOR_SCALE)
    f_sharp = melody(tuple(p + 6 for p in C_MAJOR_SCALE), 60.0)
    notes = [*melody(C_MAJOR_SCALE, 0.0), *melody(A_HARMONIC_MINOR, 30.0), *f_sharp]
    report = entry_report(notes, 90.0, seed_notes=seed)
    assert report.seed_key == "C major"
    assert [c.key for c in report.chunks] == ["C major", "A minor", "F# major"]
    g_sharp_s = 0.5  # the one note of A harmonic minor outside C major
    assert [c.in_seed_scale for c in report.chunks] == pytest.approx([1.0, 1 - g_sharp_s / 6.0, 1.0 / 6.0])  # F# major: only B and F are in C major
    total = sum(n.end_s - n.onset_s for n in notes)
    outside = g_sharp_s + sum(n.end_s - n.onset_s for n in f_sharp if n.pitch % 12 not in {0, 2, 4, 5, 7, 9, 11})
    assert report.in_seed_scale == pytest.approx(1 - outside / total)
    assert entry_report(notes, 90.0).in_seed_scale is None


def test_the_key_bias_lowers_only_pitches_outside_the_scale() -> None:
    bundle = PianoBundle.random("tiny")
    bias = key_bias(bundle.tokenizer.vocab, Key(0, minor=False), 2.0)
    for name, index in bundle.tokenizer.vocab.items():
        outside = name.startswith("Pitch_") and int(name.removeprefix("Pitch_")) % 12 in {1, 3, 6, 8, 10}
        assert bias[index] == (-2.0 if outside else 0.0), name


def test_a_stream_with_a_strong_key_bias_plays_only_the_scale() -> None:
    bundle = PianoBundle.random("tiny")
    stream = PianoStream(bundle, seed=0)
    stream.prime([])
    stream.logit_bias = key_bias(bundle.tokenizer.vocab, Key(0, minor=False), 1e4)
    notes = [note for _ in range(600) for note in stream.step()]
    assert len(notes) > 20
    assert {note.pitch % 12 for note in notes} <= {0, 2, 4, 5, 7, 9, 11}
    stream.logit_bias = None
    unbiased = [note for _ in range(600) for note in stream.step()]
    assert {note.pitch % 12 for note in unbiased} - {0, 2, 4, 5, 7, 9, 11}  # the random model plays them otherwise
