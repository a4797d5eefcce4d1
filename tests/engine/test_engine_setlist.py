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
    ("text", "message"),
    [
        ("[click]\n[[songs]]\nbars = 2\ntempo = 1000\n", ":4: song 1: tempo must be between 20 and 400 bpm, got 1000"),
        ("[click]\n[[songs]]\nbars = 0\n", ':3: song 1: bars must be at least 1 (or "until next"), got 0'),
        ("[click]\n[[songs]]\nname = 'Night'\nbars = 'forever'\n",
         ':4: song 1 ("Night"): bars must be a whole number or "until next", got "forever"'),
        ("[click]\n[[songs]]\nbars = 2\ntemperature = 'hot'\n", ':4: song 1: temperature must be a number, got "hot"'),
        ("[click]\n[[songs]]\nbars = 2\ncolour = 1\n", ':4: song 1: unknown field "colour" (fields: bars, seed,'),
        ("[click]\n[[songs]]\nbars = 2\ntemperature = 6.0\n", ":4: song 1: temperature must be in [0, 5] (0 is greedy), got 6.0"),
        ("[click]\n[[songs]]\nbars = 2\ntop_p = 0\n", ":4: song 1: top_p must be in (0, 1], got 0.0"),
        ("[click]\n[[songs]]\nbars = 2\nmin_p = 1.0\n", ":4: song 1: min_p must be in [0, 1), got 1.0"),
        ("[click]\n[[songs]]\nbars = 2\nrepetition_penalty = 0.0\n", ":4: song 1: repetition_penalty must be positive"),
        ("[click]\n[[songs]]\nbars = 1\n[drums]\ntemperature = -1.0\n", ":5: [drums]: temperature must be in [0, 5]"),
        ("[click]\n\n[[songs]]\nbars = 1\n[[songs]]\nseed = 'a/b.mid'\n",
         ':5: song 2 ("b"): bars is missing: give the song\'s length: bars = 16, or "until next"'),
        ('[show]\ntime_signature = "4/3"\n[click]\n[[songs]]\nbars = 1\n',
         ':2: [show]: time_signature must be N/D with D a power of two, like "4/4" or "6/8", got "4/3"'),
        ("[click]\nchannel = 17\n[[songs]]\nbars = 1\n", ":2: [click]: channel must be 1-16"),
        ("[piano]\n[[songs]]\nbars = 1\n", ":2: song 1: seed is missing: the piano needs a seed MIDI file"),
        ("[click]\n[[songs]]\nbars = 1\ntransition = 'crossfade'\n",
         ":4: song 1: transition: the first song has nothing to cross-fade from"),
        ("[click]\n[[songs]]\nbars = 1\n[[songs]]\nbars = 2\ntransition = 'fade'\n",
         ':6: song 2: transition must be "cut" or "crossfade", got "fade"'),
        ("[click]\n[[songs]]\nbars = 1\n[[songs]]\nbars = 2\ntransition = 'crossfade'\ncrossfade_bars = 4\n",
         ":7: song 2: crossfade_bars must be at most the song's 2 bars, got 4"),
        ("[click]\n[[songs]]\nbars = 1\n[songs.drums]\ngroove = 'funk'\n",
         ":4: song 1: drums given, but the show has no [drums] voice"),
        ("[drums]\n[[songs]]\nbars = 1\n[songs.drums]\nmode = 'jazz'\n", ":5: song 1 drums: mode must be one of"),
        ("[drums]\n[[songs]]\nbars = 1\ndrums = { temperature = 9.0 }\n", ":4: song 1 drums: temperature must be in [0, 5]"),
        ("[click]\n[[songs]]\nbars = 1\n[[songs]]\nname = 'B'\nbars = 1\n[songs.drums]\nmode = 'follow-piano'\n[drums]\n",
         ':8: song 2 ("B") drums: mode "follow-piano" needs a [piano] voice'),
        ("[click]\n[outputs]\nmidi_type = 2\n[[songs]]\nbars = 1\n", ":3: [outputs]: midi_type must be 0 (one track) or 1"),
        ("[click]\n[outputs]\nrecord = 3\n[[songs]]\nbars = 1\n", ":3: [outputs]: record must be text in quotes, got 3"),
        ("title = 3\n[click]\n[[songs]]\nbars = 1\n", ":1: title must be text in quotes, got 3"),
        ("[[songs]]\nbars = 1\n", ": no voice: add a [piano], [click] or [drums] table"),
        ("[click]\n", ": no songs: add at least one [[songs]] table"),
        ("[click]\n[[songs]]\nbars = 1\n[extra]\n", ':4: unknown table or field "extra"'),
        ("[click]\n[[songs]]\nbars = \n", ":3: column 8: not valid TOML: Invalid value"),
    ],
)
def test_a_bad_setlist_is_one_line_naming_the_file_line_song_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SetlistError) as raised:
        load_setlist(path)
    assert str(raised.value).startswith(f"{path}{message}") and "\n" not in str(raised.value)


def test_invalid_toml_and_missing_files_are_setlist_errors(tmp_path: Path) -> None:
    with pytest.raises(SetlistError, match=r"set.toml: not valid TOML: Invalid value \(at end of document\)"):
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
    ("text", "message"),
    [
        ("[drums]\nchannel = 0\n[[songs]]\nbars = 2\n", ":2: [drums]: channel must be 1-16"),
        ("[drums]\nmode = 'samba'\n[[songs]]\nbars = 2\n", ":2: [drums]: mode must be one of library, pattern"),
        ("[drums]\npattern = { cowbell = [1] }\n[[songs]]\nbars = 2\n", ":2: [drums]: pattern.cowbell: unknown drum"),
        ("[drums]\n[drums.pattern]\nkick = [32]\n[[songs]]\nbars = 2\n",
         ":3: [drums]: pattern.kick: steps must be integers 0-31"),
        ("[drums]\nmode = 'follow-piano'\n[[songs]]\nbars = 2\n", ':2: [drums]: mode "follow-piano" needs a [piano] voice'),
        ("[show]\ntime_signature = '3/4'\n[drums]\n[[songs]]\nbars = 2\n", ":3: [drums]: the groove models play 4/4 only"),
    ],
)
def test_drum_mistakes_name_the_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SetlistError) as raised:
        load_setlist(path)
    assert str(raised.value).startswith(f"{path}{message}")


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


def test_a_line_is_found_for_tables_keys_dotted_keys_and_tables_inside_array_elements() -> None:
    from encore.engine.toml_lines import TomlLines

    lines = TomlLines('title = "x"\n[piano]\nchannel = 1\n[[songs]]\nbars = 2\n[songs.drums]\ngroove = "funk"\n'
                      '[[songs]]\ntempo = 90\ndrums.mode = "library"\n[drums.pattern]\nkick = [0,\n  8]\n')
    assert lines.line((), "title") == 1 and lines.line(("piano",), "channel") == 3
    assert lines.line(("songs", 0), "bars") == 5 and lines.line(("songs", 1), "tempo") == 9
    assert lines.line(("songs", 0, "drums"), "groove") == 7 and lines.line(("songs", 1, "drums"), "mode") == 10
    assert lines.line(("songs", 1), "bars") == 8  # a missing key: its table's header
    assert lines.line(("drums", "pattern"), "kick") == 12 and lines.line(("click",), "channel") is None


def test_outputs_come_from_the_setlist_and_the_command_line_wins(tmp_path: Path) -> None:
    from encore.engine.show import PlayOptions

    setlist = load_setlist(write(tmp_path, '[click]\n[outputs]\nrecord = "out/set.mid"\nwav = "out/set.wav"\n'
                                           'midi_type = 0\nsoundfont = "fonts/x.sf2"\naudio_device = "USB"\n'
                                           "[[songs]]\nbars = 1\n"))
    merged = PlayOptions(headless=True).with_outputs(setlist)
    assert (merged.record, merged.wav, merged.midi_type) == (tmp_path / "out/set.mid", tmp_path / "out/set.wav", 0)
    assert (merged.soundfont, merged.audio_device, merged.midi_port) == (tmp_path / "fonts/x.sf2", "USB", None)
    given = PlayOptions(record=Path("mine.mid"), midi_type=1, audio_device="hw:1").with_outputs(setlist)
    assert (given.record, given.midi_type, given.audio_device, given.wav) == (
        Path("mine.mid"), 1, "hw:1", tmp_path / "out/set.wav")
    assert PlayOptions().with_outputs(load_setlist(write(tmp_path, "[click]\n[[songs]]\nbars = 1\n"))).midi_type == 1


BAND = """
[piano]
checkpoint = "tiny"
[drums]
mode = "follow-piano"
groove = "pop"
temperature = 0.9
[[songs]]
seed = "{seed}"
bars = 2
[[songs]]
seed = "{seed}"
bars = 2
transition = "crossfade"
crossfade_bars = 1
[songs.drums]
mode = "library"
groove = "{groove}"
temperature = 0.5
"""


def test_a_songs_drums_override_the_shows_and_become_its_song_change(tmp_path: Path) -> None:
    from encore.engine.commands.groove import SetGroove
    from encore.engine.commands.reseed import Reseed
    from encore.engine.show import song_plans
    from encore.engine.songs import Crossfade

    setlist = load_setlist(write(tmp_path, BAND.format(seed=SEED, groove="funk")))
    assert setlist.drums is not None and setlist.songs[1].drums is not None
    first, second = (setlist.drums.for_song(song) for song in setlist.songs)
    assert (first.mode, first.groove, first.temperature) == ("follow-piano", "pop", 0.9)
    assert (second.mode, second.groove, second.temperature, second.checkpoint) == ("library", "funk", 0.5, "factorized")
    plan = song_plans(setlist)[1]
    assert plan.commands == (Reseed(SEED, "piano"), SetGroove("library", "funk", {}, "drums"))
    assert dict(plan.sampling)["drums"].temperature == 0.5 and plan.crossfade == Crossfade(4.0, ("piano",), 4.0)


def test_a_song_groove_the_library_lacks_is_an_error_naming_the_song(tmp_path: Path) -> None:
    from encore.engine.show import build_voices

    setlist = load_setlist(write(tmp_path, BAND.format(seed=SEED, groove="polka")))
    with pytest.raises(EncoreError, match=r"^song 2 \(pop909_003\): drums\.") as raised:
        build_voices(setlist)
    assert "polka" in str(raised.value)
