"""The copy check on fixture files: representation, exactness against brute force, copies found, CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import numpy as np
import pytest

from encore.stage.cli import main
from encore.training.challenge.check import check_entry, default_threshold
from encore.training.challenge.chunks import ChunkConfig, informative_windows, notes_to_steps, read_notes
from encore.training.challenge.corpus import load_corpus, midi_files_under
from encore.training.challenge.plagiarism import brute_force, search

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SOURCE = FIXTURES / "pop909" / "001.mid"
COPY_FROM_S = 21.3  # where the copied passage starts in the source
COPY_TO_S = 53.3  # and where it lands in the entry: off the 5 s grid, on the 16th-step grid (32 s later)
COPY_S = 10.0


def test_top_note_per_step_with_held_rests() -> None:
    # C4 for two steps, then E4 over G3, a rest of two steps, then D4.
    start = np.array([0.0, 0.25, 0.25, 0.75])
    end = np.array([0.25, 0.5, 0.5, 1.0])
    pitch = np.array([60, 64, 55, 62])
    steps = notes_to_steps(start, end, pitch, 0.125)
    assert steps.values.tolist() == [60, 60, 64, 64, 64, 64, 62, 62]
    assert steps.onsets.tolist() == [1, 0, 1, 0, 0, 0, 1, 0]


def test_held_chord_and_silence_are_left_out() -> None:
    config = ChunkConfig()
    chord = notes_to_steps(np.zeros(3), np.full(3, 6.0), np.array([60, 64, 67]), config.step_s)
    assert not informative_windows(chord, config).any()
    melody = notes_to_steps(np.arange(48) * 0.125, np.arange(1, 49) * 0.125, 60 + np.arange(48) % 5, config.step_s)
    assert informative_windows(melody, config).all()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name in ("pop909/001.mid", "pop909/002.mid", "piano_midi_de/scn15_4.mid"):
        shutil.copy(FIXTURES / name, folder / Path(name).name)
    return folder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("threshold", [0.999, 0.995, 0.97])
def test_pruned_search_equals_brute_force(corpus_dir: Path, cache_dir: Path, threshold: float, transpose: bool) -> None:
    config = ChunkConfig()
    corpus = load_corpus(midi_files_under([corpus_dir]), config, cache_root=cache_dir, progress=False)
    rng = np.random.default_rng(7)
    picked = corpus.windows(rng.choice(corpus.starts, 24, replace=False)).astype(np.int16)
    noise = rng.integers(-2, 3, picked.shape) * (rng.random(picked.shape) < 0.04)
    shifted = picked + rng.integers(-3, 4, (len(picked), 1)) * transpose
    others = load_corpus([FIXTURES / "piano_midi_de" / "clementi_opus36_3_2.mid"], config, cache_root=cache_dir,
                         progress=False)
    queries = np.concatenate([np.clip(shifted + noise, 0, 127), others.windows(others.starts[::40])]).astype(np.uint8)
    fast = search(queries, corpus, threshold, transpose=transpose)
    slow = brute_force(queries, corpus, threshold, transpose=transpose)
    assert len(slow.query) > 0
    assert set(zip(fast.query, fast.start, fast.distance, strict=True)) == set(
        zip(slow.query, slow.start, slow.distance, strict=True))


def _notes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return read_notes(path, grader_time=False)


def write_entry(path: Path, semitones: int = 0, jitter_s: float = 0.0, copy: bool = True) -> None:
    """Clementi then Chopin (the fixtures' own time), with 10 s of pop909/001 pasted over it at 53.3 s."""
    parts, offset = [], 0.0
    for name in ("clementi_opus36_3_2.mid", "chpn-p7.mid"):
        start, end, pitch = _notes(FIXTURES / "piano_midi_de" / name)
        parts.append((start + offset, end + offset, pitch))
        offset = float(end.max()) + offset + 0.5
    start, end, pitch = (np.concatenate(column) for column in zip(*parts, strict=True))
    if copy:
        keep = (end <= COPY_TO_S) | (start >= COPY_TO_S + COPY_S)
        start, end, pitch = start[keep], np.minimum(end[keep], np.where(start[keep] < COPY_TO_S, COPY_TO_S, 1e9)), pitch[keep]
        s, e, p = _notes(SOURCE)
        inside = (s >= COPY_FROM_S) & (s < COPY_FROM_S + COPY_S)
        rng = np.random.default_rng(3)
        moved = s[inside] - COPY_FROM_S + COPY_TO_S + rng.normal(0, jitter_s, inside.sum()) * (jitter_s > 0)
        ends = np.minimum(e[inside] - COPY_FROM_S, COPY_S) + COPY_TO_S + rng.normal(0, jitter_s, inside.sum()) * (jitter_s > 0)
        start = np.concatenate([start, np.maximum(moved, 0)])
        end = np.concatenate([end, np.maximum(ends, moved + 0.02)])
        pitch = np.concatenate([pitch, p[inside] + semitones])
    # Type 0 at 120 bpm, as the grader reads it: a beat is 0.5 s.
    tpq = 480
    events = [(round(t * 2 * tpq), 1, int(n)) for t, n in zip(start, pitch, strict=True)]
    events += [(round(t * 2 * tpq), 0, int(n)) for t, n in zip(end, pitch, strict=True)]
    track, previous = mido.MidiTrack(), 0
    for tick, on, note in sorted(events):
        track.append(mido.Message("note_on" if on else "note_off", note=note, velocity=80 if on else 0,
                                  time=tick - previous))
        previous = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=tpq)
    midi.tracks.append(track)
    midi.save(path)


def _copy_flags(report) -> list:
    return [flag for flag in report.flags if Path(flag.source).name == "001.mid"]


@pytest.mark.parametrize(("semitones", "transpose"), [(0, False), (3, True), (-2, True)])
def test_copied_passage_is_flagged_at_the_right_times(tmp_path: Path, corpus_dir: Path, cache_dir: Path,
                                                      semitones: int, transpose: bool) -> None:
    entry = tmp_path / "entry.mid"
    write_entry(entry, semitones)
    report = check_entry(entry, [corpus_dir], transpose=transpose, cache_root=cache_dir, progress=False)
    flags = _copy_flags(report)
    # The only 5 s chunk at stride 5 inside [53.3, 63.3) starts at 55 s: 1.7 s into the copy.
    assert [flag.entry_s for flag in flags] == [55.0]
    assert flags[0].source_s == pytest.approx(COPY_FROM_S + 1.7, abs=0.13)
    assert flags[0].ndtw >= default_threshold(transpose)
    assert all(COPY_TO_S - 5 < flag.entry_s < COPY_TO_S + COPY_S for flag in report.flags)
    # At a 1 s stride the chunks inside the copy are flagged (the one at 54 s starts 0.7 s in, where notes
    # held from before the copied passage are missing), each at its own source time.
    fine = _copy_flags(check_entry(entry, [corpus_dir], transpose=transpose, stride_s=1.0, cache_root=cache_dir,
                                   progress=False))
    assert {flag.entry_s for flag in fine} >= {55.0, 56.0, 57.0, 58.0}
    for flag in fine:
        assert flag.source_s - COPY_FROM_S == pytest.approx(flag.entry_s - COPY_TO_S, abs=0.13)


@pytest.mark.parametrize(("semitones", "jitter_s", "transpose"), [(0, 0.02, False), (-2, 0.01, True)])
def test_jittered_copy_is_flagged(tmp_path: Path, corpus_dir: Path, cache_dir: Path, semitones: int,
                                  jitter_s: float, transpose: bool) -> None:
    # Every onset and release of the copy moved by N(0, jitter_s); at a 1 s stride some chunk is caught.
    entry = tmp_path / "entry.mid"
    write_entry(entry, semitones, jitter_s=jitter_s)
    flags = _copy_flags(check_entry(entry, [corpus_dir], transpose=transpose, stride_s=1.0, cache_root=cache_dir,
                                    progress=False))
    assert flags
    for flag in flags:
        assert COPY_TO_S <= flag.entry_s <= COPY_TO_S + COPY_S - 5
        assert flag.source_s - COPY_FROM_S == pytest.approx(flag.entry_s - COPY_TO_S, abs=0.26)


def test_transposed_copy_needs_transpose_mode(tmp_path: Path, corpus_dir: Path, cache_dir: Path) -> None:
    entry = tmp_path / "entry.mid"
    write_entry(entry, semitones=3)
    assert not _copy_flags(check_entry(entry, [corpus_dir], cache_root=cache_dir, progress=False))


@pytest.mark.parametrize("transpose", [False, True])
def test_clean_entry_has_no_flags(tmp_path: Path, corpus_dir: Path, cache_dir: Path, transpose: bool) -> None:
    entry = tmp_path / "clean.mid"
    write_entry(entry, copy=False)
    report = check_entry(entry, [corpus_dir], transpose=transpose, cache_root=cache_dir, progress=False)
    assert report.flags == [] and report.chunks > 20 and report.chunks - report.skipped > 15


def test_cli_exit_codes(tmp_path: Path, corpus_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture) -> None:
    clean, copied = tmp_path / "clean.mid", tmp_path / "copied.mid"
    write_entry(clean, copy=False)
    write_entry(copied)
    common = ["--against", str(corpus_dir), "--cache-dir", str(cache_dir), "--quiet"]
    assert main(["plagiarism", str(clean), *common]) == 0
    assert "clean" in capsys.readouterr().out
    report = tmp_path / "report.json"
    assert main(["plagiarism", str(copied), *common, "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "FLAG entry 0:55.000" in out and "001.mid" in out and report.is_file()
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really midi")
    assert main(["plagiarism", str(broken), *common]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("encore: error:") and "\n" not in error
    assert main(["plagiarism", str(clean), "--against", str(tmp_path / "missing"), "--quiet"]) == 2
    assert main(["plagiarism", str(clean), *common, "--threshold", "1.5"]) == 2


def test_left_out_chunks_are_counted(tmp_path: Path, corpus_dir: Path, cache_dir: Path) -> None:
    entry = tmp_path / "chord.mid"
    track = mido.MidiTrack([mido.Message("note_on", note=n, velocity=80, time=0) for n in (60, 64, 67)])
    track += [mido.Message("note_off", note=60, velocity=0, time=480 * 40)]
    track += [mido.Message("note_off", note=n, velocity=0, time=0) for n in (64, 67)]
    midi = mido.MidiFile(type=0)
    midi.tracks.append(track)
    midi.save(entry)
    report = check_entry(entry, [corpus_dir], cache_root=cache_dir, progress=False)
    assert report.chunks == 4 and report.skipped == 4 and not report.flags
    assert "4 left out" in report.lines()[0]
