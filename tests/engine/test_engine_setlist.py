"""Setlists: the shipped demo loads; every mistake is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from encore.engine.setlist import SetlistError, load_setlist
from encore.models.errors import EncoreError, SeedError

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "setlists" / "seeds" / "pop909_003.mid"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.toml"
    path.write_text(text)
    return path


def test_the_demo_setlist_loads_and_lasts_under_a_minute() -> None:
    setlist = load_setlist(REPO / "setlists" / "demo.toml")
    assert setlist.piano is not None and setlist.seed_path(setlist.songs[0]) == SEED
    assert 30 <= setlist.seconds() <= 60


def test_songs_follow_each_other_on_bar_lines(tmp_path: Path) -> None:
    setlist = load_setlist(write(tmp_path, '[show]\ntime_signature = "3/4"\n[click]\n'
                                           "[[songs]]\nbars = 2\ntempo = 60\n[[songs]]\nbars = 4\ntempo = 120\n"))
    assert setlist.song_starts() == [0.0, 6.0]
    assert setlist.seconds() == 6.0 + 6.0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[click]\n[[songs]]\nbars = 2\ntempo = 1000\n", "songs[0].tempo"),
        ("[click]\n[[songs]]\nbars = 0\n", "songs[0].bars"),
        ("[click]\n[[songs]]\nbars = 2\ntemperature = 'hot'\n", "songs[0].temperature"),
        ("[click]\n[[songs]]\nbars = 2\ncolour = 1\n", "songs[0].colour"),
        ("[click]\n[[songs]]\nbars = 2\ntemperature = 6.0\n", "songs[0].temperature: must be in [0, 5]"),
        ("[click]\n[[songs]]\nbars = 2\ntop_p = 0\n", "songs[0].top_p: must be in (0, 1]"),
        ("[click]\n[[songs]]\nbars = 2\nmin_p = 1.0\n", "songs[0].min_p: must be in [0, 1)"),
        ("[click]\n[[songs]]\nbars = 2\nrepetition_penalty = 0.0\n", "songs[0].repetition_penalty: must be positive"),
        ("[click]\n[[songs]]\nbars = 1\n[drums]\ntemperature = -1.0\n", "drums.temperature: must be in [0, 5]"),
        ("[click]\n[[songs]]\n", "songs[0].bars"),
        ('[show]\ntime_signature = "4/3"\n[click]\n[[songs]]\nbars = 1\n', "show.time_signature"),
        ("[click]\nchannel = 17\n[[songs]]\nbars = 1\n", "click.channel"),
        ("[piano]\n[[songs]]\nbars = 1\n", "songs[0].seed"),
        ("[[songs]]\nbars = 1\n", "piano"),
        ("[click]\n", "songs"),
        ("[click]\n[[songs]]\nbars = 1\n[extra]\n", "unknown field 'extra'"),
    ],
)
def test_a_bad_setlist_is_one_line_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(SetlistError) as raised:
        load_setlist(write(tmp_path, text))
    message = str(raised.value)
    assert field in message and "\n" not in message


def test_invalid_toml_and_missing_files_are_setlist_errors(tmp_path: Path) -> None:
    with pytest.raises(SetlistError, match="not valid TOML"):
        load_setlist(write(tmp_path, "songs = [\n"))
    with pytest.raises(SetlistError, match="cannot read"):
        load_setlist(tmp_path / "missing.toml")


@pytest.mark.parametrize(("content", "problem"), [(None, "does not exist"), (b"MThd garbage", "not a readable"),
                                                 (b"", "not a readable")])
def test_a_bad_seed_is_a_seed_error(tmp_path: Path, content: bytes | None, problem: str) -> None:
    if content is not None:
        (tmp_path / "seed.mid").write_bytes(content)
    with pytest.raises(SeedError, match=problem) as raised:
        load_setlist(write(tmp_path, '[piano]\n[[songs]]\nbars = 1\nseed = "seed.mid"\n'))
    assert isinstance(raised.value, EncoreError)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[drums]\nchannel = 0\n[[songs]]\nbars = 2\n", "drums.channel"),
        ("[drums]\nmode = 'samba'\n[[songs]]\nbars = 2\n", "drums.mode"),
        ("[drums]\npattern = { cowbell = [1] }\n[[songs]]\nbars = 2\n", "drums.pattern.cowbell"),
        ("[drums]\npattern = { kick = [32] }\n[[songs]]\nbars = 2\n", "drums.pattern.kick"),
        ("[drums]\nmode = 'follow-piano'\n[[songs]]\nbars = 2\n", "drums.mode"),
        ("[show]\ntime_signature = '3/4'\n[drums]\n[[songs]]\nbars = 2\n", "drums"),
    ],
)
def test_drum_mistakes_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(SetlistError, match=rf": {field}"):
        load_setlist(write(tmp_path, text))


def test_drums_alone_make_a_setlist_and_count_channels_from_1(tmp_path: Path) -> None:
    setlist = load_setlist(write(tmp_path, "[drums]\nmode = 'pattern'\nchannel = 10\n"
                                           "[drums.pattern]\nkick = [0, 8]\nsnare = []\n[[songs]]\nbars = 2\n"))
    assert setlist.drums is not None and setlist.drums.channel == 10
    assert dict(setlist.drums.part.pattern) == {"kick": (0, 8), "snare": ()}


def test_a_songs_sampling_settings_become_one_sampling_config(tmp_path: Path) -> None:
    from encore.models.sampling_config import SamplingConfig

    setlist = load_setlist(write(tmp_path, "[click]\n[[songs]]\nbars = 2\ntemperature = 0.8\nmin_p = 0.1\n"
                                           "repetition_penalty = 1.2\n[[songs]]\nbars = 1\n"))
    assert setlist.songs[0].sampling == SamplingConfig(temperature=0.8, min_p=0.1, repetition_penalty=1.2)
    assert setlist.songs[1].sampling == SamplingConfig()
