"""The v2 piano data: its vocabulary, the performer's part marked, styles, the new sources, the grammar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from symusic import Score

from encore.models.midi_io import is_piano_track, merge_tracks, read_score, set_time_signature
from encore.models.piano.grammar import GrammarConfig, GrammarState, GrammarTables
from encore.models.piano.streaming_decoder import StreamingDecoder, TokenTable
from encore.models.piano.tokenizer import (
    PERFORMER_TOKEN,
    ROLE_TOKENS,
    RemiPlusSettings,
    build_tokenizer,
    has_roles,
    load_tokenizer,
    save_tokenizer,
)
from encore.training.piano.prep import PrepConfig, load_split, load_styles, run_prep
from encore.training.piano.roles import encode_roles, program_tokenizer
from encore.training.piano.sources import PianoFile, list_giantmidi, list_openscore_lieder, list_pop909

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SETTINGS = RemiPlusSettings.with_roles()


@pytest.fixture(scope="module")
def v2_tokenizer():
    return build_tokenizer(SETTINGS)


def pop_song(song: str = "001") -> Score:
    return read_score(FIXTURES / "pop909" / f"{song}.mid")


def test_v2_vocabulary_appends_to_v1_and_survives_a_save(v2_tokenizer, tmp_path: Path) -> None:
    v1 = build_tokenizer()
    assert all(v2_tokenizer.vocab[token] == index for token, index in v1.vocab.items())
    assert [v2_tokenizer.vocab[token] for token in ROLE_TOKENS] == list(range(len(v1), len(v1) + len(ROLE_TOKENS)))
    save_tokenizer(v2_tokenizer, tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.vocab == v2_tokenizer.vocab and has_roles(loaded)
    assert not has_roles(load_tokenizer(Path(__file__).resolve().parents[2] / "models/checkpoints/piano-default"))


@pytest.mark.parametrize("path", ["pop909/001.mid", "piano_midi_de/chpn-p7.mid"])
def test_without_a_performer_the_v2_layout_is_the_plain_encoding(v2_tokenizer, path: str) -> None:
    score = merge_tracks(read_score(FIXTURES / path), is_piano_track)
    plain = v2_tokenizer.encode(score)
    plain = plain[0] if isinstance(plain, list) else plain
    ids = encode_roles(score, score.tracks[0], None, v2_tokenizer, program_tokenizer(SETTINGS))
    assert ids.tolist() == list(plain.ids)


def test_the_performers_notes_come_first_at_their_position_marked_and_never_doubled(v2_tokenizer) -> None:
    raw = pop_song()
    melody = next(track for track in raw.tracks if track.name == "MELODY")
    own = merge_tracks(raw, lambda track: is_piano_track(track) and track.name != "MELODY")
    set_time_signature(own, 4, 4)
    ids = encode_roles(own, own.tracks[0], melody, v2_tokenizer, program_tokenizer(SETTINGS)).tolist()
    inverse = {index: token for token, index in v2_tokenizer.vocab.items()}
    names = [inverse[i] for i in ids]
    marker = v2_tokenizer.vocab[PERFORMER_TOKEN]
    assert ids.count(marker) == len(melody.notes)
    assert all(names[i + 1].startswith("Pitch_") for i, token in enumerate(ids) if token == marker)

    table = TokenTable.from_tokenizer(v2_tokenizer)
    decoder = StreamingDecoder(table)
    seen_own_at_position, performer, mine = False, set(), set()
    for i, token in enumerate(ids):
        if names[i].startswith(("Position_", "Bar_")):
            seen_own_at_position = False
        is_performers = i > 0 and ids[i - 1] == marker
        if names[i].startswith("Pitch_"):
            assert not (is_performers and seen_own_at_position), f"a performer note after an own note at token {i}"
            seen_own_at_position |= not is_performers
        for note in decoder.feed(token):
            (performer if ids[i - 3] == marker else mine).add((round(note.onset_beats, 4), note.pitch))
    assert len(performer) > 100 and not performer & mine


def test_the_grammar_reads_v2_streams_and_the_model_never_writes_a_performer_note(v2_tokenizer) -> None:
    raw = pop_song()
    melody = next(track for track in raw.tracks if track.name == "MELODY")
    own = merge_tracks(raw, lambda track: is_piano_track(track) and track.name != "MELODY")
    ids = encode_roles(own, own.tracks[0], melody, v2_tokenizer, program_tokenizer(SETTINGS)).tolist()
    vocab = v2_tokenizer.vocab
    stream = [vocab["BOS_None"], vocab["Style_pop"], *ids]
    table = TokenTable.from_tokenizer(v2_tokenizer)

    reading = GrammarState(GrammarTables(table, GrammarConfig(allow_performer=True)))
    for token in stream:
        assert reading.allows(token), f"{token} refused"
        reading.advance(token)

    playing = GrammarState(GrammarTables(table))
    refused = 0
    for token in stream:
        allowed = playing.allowed()
        assert not allowed[vocab[PERFORMER_TOKEN]] and not allowed[vocab["Reserved_0"]]
        refused += not bool(allowed[token])
        playing.advance(token)
    assert refused == len(melody.notes)  # each marker, and nothing else
    after_bar = GrammarState(GrammarTables(table))
    after_bar.advance_many([vocab["BOS_None"], vocab["Bar_None"]])
    assert not after_bar.allows(vocab["Style_pop"])


def test_v2_prep_marks_half_the_melody_files_and_keeps_styles(mini_data_root: Path, tmp_path: Path) -> None:
    config = PrepConfig.v2(data_root=mini_data_root, sources=("pop909", "piano_midi_de"), cache_root=tmp_path,
                           workers=1)
    manifest = run_prep(config, progress=False)
    marked = [file for file in list_pop909(mini_data_root / "pop909") if config.marks_performer(file)]
    assert sum(split["marked"] for split in manifest["splits"].values()) == len(marked)
    marker = build_tokenizer(SETTINGS).vocab[PERFORMER_TOKEN]
    for split in ("train", "validation", "test"):
        tokens, offsets = load_split(config.cache_dir, split)
        styles = load_styles(config.cache_dir, split)
        assert styles is not None and len(styles) == len(offsets) - 1
        assert (int((tokens == marker).sum()) > 0) == (manifest["splits"][split]["marked"] > 0)
    assert load_styles(tmp_path / "nowhere", "train") is None
    assert config.digest() != PrepConfig(sources=config.sources).digest()


def test_giantmidi_pieces_are_keyed_by_title_without_the_video_id() -> None:
    files = list_giantmidi(FIXTURES / "giantmidi_eval")
    assert len(files) == 1 and files[0].piece == "/handelgeorgefridericairinemajorhwv425"


def test_a_lied_becomes_a_piano_track_and_a_voice_track(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("music21")
    from encore.training.piano import lieder

    monkeypatch.setattr(lieder, "lieder_midi_dir", lambda: tmp_path / "midi")
    outcomes = lieder.convert_lieder(FIXTURES, workers=1, progress=False)
    assert [o.reason for o in outcomes] == [""]
    score = Score(str(outcomes[0].target))
    tracks = {track.name: len(track.notes) for track in score.tracks}
    assert set(tracks) == {"piano", "voice"} and tracks["piano"] > tracks["voice"] > 20
    assert [o.reason for o in lieder.convert_lieder(FIXTURES, workers=1, progress=False)] == ["already converted"]
    files = list_openscore_lieder(FIXTURES / "openscore_lieder")
    assert [f.piece for f in files] == ["Brahms,_Johannes/5_Poems,_Op.19/4_Der_Schmied"]

    config = PrepConfig.v2(data_root=FIXTURES, sources=("openscore_lieder",), cache_root=tmp_path / "cache",
                           workers=1, marked_fraction=1.0)
    manifest = run_prep(config, progress=False)
    assert sum(split["marked"] for split in manifest["splits"].values()) == 1
    split = next(name for name, counts in manifest["splits"].items() if counts["files"])
    tokens, _ = load_split(config.cache_dir, split)
    assert int((tokens == build_tokenizer(SETTINGS).vocab[PERFORMER_TOKEN]).sum()) >= tracks["voice"] - 5
    assert load_styles(config.cache_dir, split).tolist() == [1]  # "score"


def test_lieder_not_converted_yet_say_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from encore.training.piano import lieder

    monkeypatch.setattr(lieder, "lieder_midi_dir", lambda: tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="encore data lieder"):
        list_openscore_lieder(FIXTURES / "openscore_lieder")


def test_marked_files_are_a_fixed_fraction() -> None:
    config = PrepConfig.v2()
    files = [PianoFile(Path(f"/x/{i:03d}.mid"), "pop909", f"{i:03d}") for i in range(400)]
    share = np.mean([config.marks_performer(f) for f in files])
    assert 0.4 < share < 0.6
    assert not config.marks_performer(PianoFile(Path("/x/a.mid"), "piano_midi_de", "a"))
    assert not PrepConfig().marks_performer(files[0])
