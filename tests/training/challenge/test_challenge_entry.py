"""Challenge entries: the shipped checkpoint makes short entries that keep every grader rule and have
exactly the asked length; segments join at bar lines; a re-primed stream goes on; the CLI writes the
entry and its report."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest

from encore.models.piano.checkpoint import PianoBundle, load_piano
from encore.models.piano.streaming_decoder import Kind, TokenTable
from encore.stage.cli import main
from encore.training.challenge.entry import EntryConfig, make_entry, reprime_tokens, seed_segment, write_entry
from encore.training.challenge.guards import GuardConfig
from encore.training.challenge.report import entry_report
from encore.training.challenge.rules import check_entry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SEED = FIXTURES / "pop909" / "001.mid"


@pytest.fixture(scope="module")
def shipped() -> PianoBundle:
    return load_piano(None, int8=True)


@pytest.mark.parametrize("seconds", [20.0, 45.0])
def test_a_short_entry_keeps_every_rule_and_its_length(shipped: PianoBundle, tmp_path: Path, seconds: float) -> None:
    entry = make_entry(shipped, SEED, EntryConfig(seconds=seconds, batch_size=4), random_seed=3)
    path = tmp_path / "entry.mid"
    midi = write_entry(path, entry)
    assert [r.line() for r in check_entry(path, target_s=seconds, tolerance_s=1.0) if not r.passed] == []
    assert abs(mido.MidiFile(path).length - seconds) < 1.0
    assert {m.type for m in midi.tracks[0] if not m.is_meta} == {"note_on", "note_off"}
    assert sum(m.type == "note_on" for m in midi.tracks[0]) == len(entry.notes)  # no note lost in writing
    assert [m.type for m in midi.tracks[0] if m.is_meta] == ["end_of_track"]
    assert entry.segments[0].start_s == 0.0 and entry.segments[0].stream == 0
    starts = [s.start_s for s in entry.segments]
    assert starts == sorted(starts) and len({s.stream for s in entry.segments}) >= 2  # several streams joined
    report = entry_report(entry.notes, seconds)
    assert report.notes > 2 * seconds  # the shipped model plays, it does not idle
    assert report.longest_silence_s <= GuardConfig().max_silence_s + 2.0  # a guard limit plus a join


def test_the_seed_is_in_the_entry_only_when_asked(shipped: PianoBundle) -> None:
    from encore.models.piano.stream import seed_token_ids

    seed = FIXTURES / "piano_midi_de" / "chpn-p7.mid"
    table = TokenTable.from_tokenizer(shipped.tokenizer)
    seed_notes, seed_s = seed_segment(seed_token_ids(shipped, seed), table, 120.0)
    assert 30 < seed_s < 45 and seed_notes
    with_seed = make_entry(shipped, seed, EntryConfig(seconds=seed_s + 6, batch_size=2, include_seed=True), random_seed=1)
    head = sorted((n.onset_s, n.pitch, n.velocity) for n in with_seed.notes if n.onset_s < seed_s)
    assert head == sorted((n.onset_s, n.pitch, n.velocity) for n in seed_notes)
    assert with_seed.segments[0].ended_by == "seed"
    assert len(with_seed.notes) > len(seed_notes)
    without = make_entry(shipped, seed, EntryConfig(seconds=6, batch_size=2), random_seed=1)
    assert "seed" not in {s.ended_by for s in without.segments} and max(n.end_s for n in without.notes) <= 6


def test_reprime_tokens_replay_the_seed_tail_with_its_tempo(shipped: PianoBundle) -> None:
    from encore.models.piano.stream import seed_token_ids

    table = TokenTable.from_tokenizer(shipped.tokenizer)
    vocab = shipped.tokenizer.vocab
    ids = seed_token_ids(shipped, SEED)
    tokens = reprime_tokens(ids, table, vocab["Bar_None"], vocab["BOS_None"], max_bars=4, max_tokens=256)
    kinds = [table.kinds[t] for t in tokens]
    assert kinds[0] == Kind.TIME_SIG and kinds[-1] == Kind.BAR and len(tokens) <= 257
    assert kinds.count(Kind.BAR) <= 4
    first_position = kinds.index(Kind.POSITION)
    assert kinds[first_position + 1] == Kind.TEMPO


def test_guards_reprime_streams_and_the_entry_still_holds(tmp_path: Path) -> None:
    # an untrained model with strict guards: silences and loops trip often, streams are re-primed
    bundle = PianoBundle.random("tiny", seed=0)
    config = EntryConfig(seconds=20.0, batch_size=3, guards=GuardConfig(max_silence_s=0.8, max_repeat_s=1.0,
                                                                          keep_repeat_s=0.5))
    entry = make_entry(bundle, SEED, config, random_seed=0)
    assert entry.reprimes.get("silence", 0) > 0
    assert entry.notes and max(n.end_s for n in entry.notes) <= 20.0
    assert entry_report(entry.notes, 20.0).longest_silence_s < 0.8 + 0.5  # a guard's limit, plus a join
    for segment in entry.segments:
        inside = [n for n in entry.notes if segment.start_s <= n.onset_s < segment.start_s + segment.length_s]
        assert all(n.end_s <= segment.start_s + segment.length_s + 1e-6 for n in inside)  # released at the join


def test_the_cli_writes_entry_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "entry.mid"
    code = main(["generate", "--seed", str(SEED), "--seconds", "12", "--out", str(out), "--challenge",
                 "--batch-size", "2", "--random-seed", "5"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert abs(mido.MidiFile(out).length - 12) < 1
    data = json.loads(out.with_suffix(".report.json").read_text())
    assert {"longest_silence_s", "empty_bar_fraction", "longest_repeat", "chunks"} <= set(data)
    assert out.with_suffix(".report.png").stat().st_size > 1000
    assert "longest exactly repeated span" in printed and "grader wants 3600 s" in printed
    assert main(["validate", str(out), "--seconds", "12", "--tolerance", "1"]) == 0


def test_forced_tokens_replace_the_samples_of_their_stream_only() -> None:
    import torch

    from encore.models.piano.stream import PianoStream, seed_token_ids

    bundle = PianoBundle.random("tiny", seed=0)
    stream = PianoStream(bundle, seed=0, batch_size=2)
    stream.prime(seed_token_ids(bundle, SEED))  # ends on a Bar: a TimeSig comes next
    time_sig = bundle.tokenizer.vocab["TimeSig_3/4"]
    stream.step_batch(torch.tensor([time_sig, -1]))
    assert stream.last_tokens[0] == time_sig and stream.decoders[0].time_signature == (3, 4)
    assert TokenTable.from_tokenizer(bundle.tokenizer).kinds[stream.last_tokens[1]] == Kind.TIME_SIG
