"""A small POP909 folder written for the duet evaluation's tests.

Each song: 120 bpm, its first annotated beat at 0.25 s (the MIDI grid is half a beat off the beats), a
four-beat bar line at its third beat (song beat 2), 24 beats. Song beat b is 0.25 + 0.5 b seconds,
tick 240 + 480 b. Song 002's tempo changes; song 003 is in compound metre (index: 3 quavers a beat).
"""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

PARTS = {  # (song beat, pitch, beats)
    "MELODY": [(11.0, 72, 1.0), (13.0, 74, 2.0), (19.0, 76, 1.0)],
    "BRIDGE": [(14.0, 67, 1.0)],
    "PIANO": [(6.0, 48, 1.0), (8.0, 52, 1.0), (10.0, 55, 2.0), (12.0, 57, 1.0)],
}
CHORDS = "0.25\t5.25\tN\n5.25\t7.25\tC:maj\n7.25\t9.25\tG:maj\n9.25\t12.25\tA:min\n"


def write_song(folder: Path, song: str, tempos: tuple[int, ...] = (500_000,)) -> None:
    (folder / song).mkdir(parents=True)
    midi = mido.MidiFile(ticks_per_beat=480)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=t, time=960 * i) for i, t in enumerate(tempos)])
    midi.tracks.append(conductor)
    for name, notes in PARTS.items():
        events = sorted([(240 + round(480 * b), "note_on", p) for b, p, _ in notes]
                        + [(240 + round(480 * (b + d)), "note_off", p) for b, p, d in notes], key=lambda e: (e[0], e[1] == "note_on"))
        track, now = mido.MidiTrack([mido.MetaMessage("track_name", name=name)]), 0
        for tick, kind, pitch in events:
            track.append(mido.Message(kind, note=pitch, velocity=80 if kind == "note_on" else 0, time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(folder / song / f"{song}.mid")
    beats = [f"{0.25 + 0.5 * k} {float(k % 2 == 0)} {float(k % 4 == 2)}" for k in range(24)]
    (folder / song / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    (folder / song / "chord_midi.txt").write_text(CHORDS)


@pytest.fixture()
def pop909(tmp_path: Path) -> Path:
    folder = tmp_path / "pop909"
    write_song(folder, "001")
    write_song(folder, "002", tempos=(500_000, 600_000))
    write_song(folder, "003")
    (folder / "index.csv").write_text("song_id,name,artist,modify_times,num_beats_per_measure,num_quavers_per_beat\n"
                                      "1,a,x,1,2,2\n2,b,x,1,2,2\n3,c,x,1,2,3\n", encoding="utf-8")
    return folder
