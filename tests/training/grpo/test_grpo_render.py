"""Rendering: notes in seconds to mono crops of the right length, silence flagged, no bleed between pieces."""

from __future__ import annotations

import numpy as np
import pytest

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.models.piano.streaming_decoder import TokenTable
from encore.models.piano.tokenizer import build_tokenizer
from encore.training.grpo.render import RenderConfig, Renderer, finish
from encore.training.grpo.timing import TempoMap, TimedNote, beat_onsets, timed_notes

pytestmark = pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="FluidR3_GM SoundFont not installed")

CHORD = [TimedNote(0.1 * i, pitch, 90, 0.5) for i, pitch in enumerate((60, 64, 67, 72))]


def test_crops_have_the_crop_length_and_flag_silence() -> None:
    config = RenderConfig(crop_s=1.5, workers=0)
    with Renderer(config) as renderer:
        rendered = renderer.render([CHORD, [], [TimedNote(5.0, 60, 90, 1.0)]])
    assert rendered.audio.shape == (3, 24000) and rendered.audio.dtype == np.float32
    assert rendered.sample_rate == 16000
    assert not rendered.silent[0] and np.sqrt((rendered.audio[0] ** 2).mean()) > 1e-3
    assert rendered.silent[1], "an empty piece is silent, and the chord before it does not ring into it"
    assert rendered.silent[2], "a note after the crop's end is not rendered"
    assert rendered.clipped.tolist() == [0, 0, 0]


def test_worker_pool_renders_like_the_calling_process() -> None:
    pieces = [CHORD, CHORD[:2], []]
    with Renderer(RenderConfig(crop_s=1.0, workers=0)) as local:
        expected = local.render(pieces)
    with Renderer(RenderConfig(crop_s=1.0, workers=2)) as pool:
        got = pool.render(pieces)
    assert got.audio.shape == expected.audio.shape
    assert got.silent.tolist() == expected.silent.tolist() == [False, False, True]
    rms = lambda audio: np.sqrt((audio.astype(np.float64) ** 2).mean(axis=1))  # noqa: E731
    np.testing.assert_allclose(rms(got.audio)[:2], rms(expected.audio)[:2], rtol=0.05)


def test_peak_normalisation_leaves_silence_alone() -> None:
    config = RenderConfig(crop_s=0.1, normalize=True)
    pieces = [(np.full(1600, 0.25, np.float32), 0), (np.zeros(1600, np.float32), 0)]
    rendered = finish(pieces, config)
    assert rendered.audio[0].max() == pytest.approx(0.9)
    assert rendered.silent.tolist() == [False, True] and not rendered.audio[1].any()


def test_tempo_map_and_timed_notes() -> None:
    tempo = TempoMap([(0.0, 60.0), (4.0, 120.0)])
    assert tempo.to_seconds(2.0) == 2.0 and tempo.to_seconds(6.0) == 5.0
    tokenizer = build_tokenizer()
    vocab = tokenizer.vocab
    tempo_token = min((name for name in vocab if name.startswith("Tempo_")), key=lambda n: abs(float(n[6:]) - 60))
    qpm = float(tempo_token[6:])
    duration = next(name for name in vocab if name.startswith("Duration_1.0."))
    note = ["Velocity_" + next(n for n in vocab if n.startswith("Velocity_")).split("_")[1], duration]
    ids = [vocab[name] for name in ["BOS_None", "Bar_None", "TimeSig_4/4", "Position_0", tempo_token, "Pitch_60", *note,
                                    "Position_8", "Pitch_64", *note]]
    notes = timed_notes(TokenTable.from_tokenizer(tokenizer), ids)
    assert [n.pitch for n in notes] == [60, 64]
    assert notes[1].onset_s == pytest.approx(60 / qpm)
    assert notes[0].duration_s == pytest.approx(60 / qpm)
    later = timed_notes(TokenTable.from_tokenizer(tokenizer), ids, start=9)
    assert [(n.pitch, round(n.onset_s, 6)) for n in later] == [(64, 0.0)]


def test_beat_onsets_ignore_the_tempo() -> None:
    tokenizer = build_tokenizer()
    vocab, table = tokenizer.vocab, TokenTable.from_tokenizer(tokenizer)
    tempos = sorted((name for name in vocab if name.startswith("Tempo_")), key=lambda n: float(n[6:]))
    duration = next(name for name in vocab if name.startswith("Duration_1.0."))
    velocity = next(n for n in vocab if n.startswith("Velocity_"))

    def piece(tempo: str) -> list[int]:
        return [vocab[name] for name in ["BOS_None", "Bar_None", "TimeSig_4/4", "Position_0", tempo, "Pitch_60", velocity,
                                         duration, "Position_12", "Pitch_64", velocity, duration]]

    slow, fast = piece(tempos[0]), piece(tempos[-1])
    assert beat_onsets(table, slow) == beat_onsets(table, fast) == [0.0, 1.5]
    assert timed_notes(table, slow)[1].onset_s > timed_notes(table, fast)[1].onset_s
    assert beat_onsets(table, slow, start=9) == [0.0]
