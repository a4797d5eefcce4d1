"""The shipped setlists load and play offline with the shipped checkpoints and seeds, a few bars each
(with a `Next` early on, so the second song's change, cut or crossfade, plays too)."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from encore.engine.commands.jump import Next
from encore.engine.setlist import load_setlist
from encore.engine.show import PlayOptions, Show

REPO = Path(__file__).resolve().parents[2]
SETLISTS = ("demo", "ballad", "band")


@pytest.mark.parametrize("name", SETLISTS)
def test_a_shipped_setlist_loads_with_its_seeds_and_ends(name: str) -> None:
    setlist = load_setlist(REPO / "setlists" / f"{name}.toml")
    assert setlist.piano is not None and setlist.piano.checkpoint == "default"
    assert all(setlist.seed_path(song).is_file() for song in setlist.songs)
    assert 20.0 <= setlist.seconds() <= 120.0


@pytest.mark.slow
@pytest.mark.parametrize("name", SETLISTS)
def test_a_shipped_setlist_plays_offline_for_a_few_bars(name: str, tmp_path: Path) -> None:
    setlist = load_setlist(REPO / "setlists" / f"{name}.toml")
    show = Show.build(setlist, PlayOptions(headless=True, record=tmp_path / f"{name}.mid"))
    seconds = 3 * setlist.bar_beats * 60.0 / setlist.songs[0].tempo  # three bars of the first song
    nexts = []

    def next_early(show_time: float) -> None:
        if len(setlist.songs) > 1 and show_time >= 0.5 and not nexts:
            nexts.append(show.submit(Next()))

    report = show.engine.run_offline(seconds + 4.0, on_tick=next_early)
    assert not report.voice_failures and not report.sink_failures and report.counts.dropped == 0
    midi = mido.MidiFile(tmp_path / f"{name}.mid")
    assert midi.length == pytest.approx(report.seconds, abs=0.05)
    onsets = {track.name: note_on_beats(track, midi.ticks_per_beat) for track in midi.tracks[1:]}
    assert {name for name, beats in onsets.items() if beats} == (
        {"piano", "drums"} if setlist.drums is not None else {"piano"})
    if nexts:
        second = show.engine.songs.starts[1]
        assert second <= 2 * setlist.bar_beats
        assert max(onsets["piano"]) >= second  # the second song played
    if setlist.drums is not None:  # the drums play the last song started's own drum settings
        started = setlist.drums.for_song(setlist.songs[show.engine.songs.applied])
        drums = show.snapshot().voice("drums")
        assert (drums.mode, drums.groove, drums.sampling.temperature) == (
            started.mode, started.groove, started.temperature)
        assert show.engine.songs.applied >= 1 and started.mode != setlist.drums.mode


def note_on_beats(track: mido.MidiTrack, ticks_per_beat: int) -> list[float]:
    """The beats of a track's note-ons."""
    beats, tick = [], 0
    for message in track:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0:
            beats.append(tick / ticks_per_beat)
    return beats
