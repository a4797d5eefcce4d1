"""The piano corpora on disk: which files, which piece each belongs to, and its split.

Splits are by piece, so two performances or arrangements of one work never straddle splits:
POP909's `versions/` follow their song, ASAP's performances follow their piece, and piano-midi.de and
ASAP share one normalized composer/title key because their repertoire overlaps.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SOURCES = ("pop909", "piano_midi_de")
V2_SOURCES = ("pop909", "piano_midi_de", "giantmidi_eval", "openscore_lieder")
"""The permissive corpora of the v2 piano model (`encore data piano --v2`)."""
NON_COMMERCIAL_SOURCES = ("asap", "pianolatron")
"""Opt-in only: ASAP is CC BY-NC-SA; the piano rolls' license is unclear, so they are treated alike."""

STYLE_OF_SOURCE = {"pop909": "pop", "piano_midi_de": "score", "openscore_lieder": "score",
                   "giantmidi_eval": "performance", "asap": "performance", "pianolatron": "performance"}
"""The style token each source's sequences start with: pop arrangement, engraved score or performance."""

PERFORMER_TRACK = {"pop909": "MELODY", "openscore_lieder": "voice"}
"""The track that plays the performer's part, in sources that have one (the rest is the model's own)."""

REPRODUCING_ROLL_TYPES = ("welte-red", "welte-green", "welte-licensee", "duo-art", "ampico")
"""Piano-roll types that carry dynamics; plain 88-note and 65-note rolls stay out."""


@dataclass(frozen=True)
class PianoFile:
    """One MIDI file of a piano corpus."""

    path: Path
    source: str
    piece: str
    time_signature: tuple[int, int] | None = None

    @property
    def split(self) -> str:
        """The file's split, from its piece key."""
        return split_of(self.piece)


def split_of(piece: str) -> str:
    """Deterministic split of a piece key: md5 bucket 0 is test, 1 validation, the rest train."""
    bucket = int(hashlib.md5(piece.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def work_key(composer: str, title: str) -> str:
    """A composer/title key normalized so that the same work matches across corpora."""
    simplify = lambda text: re.sub(r"[^a-z0-9]", "", text.lower())  # noqa: E731
    return f"{simplify(composer)}/{simplify(title)}"


def pop909_time_signature(beats_per_measure: int, quavers_per_beat: int) -> tuple[int, int]:
    """POP909's index columns as a time signature (the files' own `1/4` events are often wrong)."""
    if quavers_per_beat == 3:
        return beats_per_measure * 3, 8
    return beats_per_measure, 4


def list_pop909(root: Path) -> list[PianoFile]:
    """Main arrangements and their versions, keyed by song id, with the index's time signature."""
    files = []
    with open(root / "index.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            song = row["song_id"].zfill(3)
            signature = pop909_time_signature(int(row["num_beats_per_measure"]), int(row["num_quavers_per_beat"]))
            folder = root / song
            for path in [folder / f"{song}.mid", *sorted((folder / "versions").glob("*.mid"))]:
                if path.is_file():
                    files.append(PianoFile(path, "pop909", song, signature))
    return files


def list_piano_midi_de(root: Path) -> list[PianoFile]:
    """Sequenced classical pieces, keyed by composer and title."""
    with open(root / "metadata.csv", encoding="utf-8") as handle:
        return [
            PianoFile(root / row["midi"], "piano_midi_de", work_key(row["composer"], row["title"]))
            for row in csv.DictReader(handle)
            if (root / row["midi"]).is_file()
        ]


def list_asap(root: Path) -> list[PianoFile]:
    """Human performances (non-commercial license), keyed by composer and title."""
    seen: set[Path] = set()
    files = []
    with open(root / "metadata.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            path = root / row["midi_performance"]
            if path.is_file() and path not in seen:
                seen.add(path)
                files.append(PianoFile(path, "asap", work_key(row["composer"], row["title"])))
    return files


def list_giantmidi(root: Path) -> list[PianoFile]:
    """Transcribed performances, keyed by the composer and title their file names begin with."""
    files, seen = [], set()
    for path in sorted(root.glob("midis_*/**/*.mid")):
        if path.name not in seen:
            seen.add(path.name)
            title = re.sub(r"[,_ ][A-Za-z0-9_-]{11}(_a)?$", "", path.stem)  # the YouTube id at the end
            files.append(PianoFile(path, "giantmidi_eval", work_key("", title)))
    return files


def list_openscore_lieder(root: Path) -> list[PianoFile]:
    """Art songs converted to MIDI (`encore data lieder`), keyed by their song folder."""
    from encore.training.piano.lieder import lieder_midi_dir

    converted = lieder_midi_dir()
    scores = root / "scores"
    if not converted.is_dir():
        raise FileNotFoundError(f"{converted}: the Lieder are not converted yet (run `encore data lieder`)")
    return [PianoFile(path, "openscore_lieder", str(path.parent.relative_to(converted)))
            for path in sorted(converted.rglob("*.mid"))
            if (scores / path.relative_to(converted)).with_suffix(".mxl").is_file()]


def list_pianolatron(root: Path) -> list[PianoFile]:
    """Reproducing-piano rolls (opt-in, non-commercial), keyed by composer and work; 88-note rolls left out."""
    catalog = json.loads((root / "output" / "catalog.json").read_text(encoding="utf-8"))
    files = []
    for roll in catalog:
        path = root / "midi" / "exp" / f"{roll['druid']}_exp.mid"
        if path.is_file() and roll.get("type") in REPRODUCING_ROLL_TYPES:
            files.append(PianoFile(path, "pianolatron", work_key(roll["composer"], roll["work"] or roll["title"])))
    return files


LISTERS = {"pop909": list_pop909, "piano_midi_de": list_piano_midi_de, "asap": list_asap,
           "giantmidi_eval": list_giantmidi, "openscore_lieder": list_openscore_lieder,
           "pianolatron": list_pianolatron}


def list_corpus(data_root: Path, sources: tuple[str, ...]) -> list[PianoFile]:
    """All files of the named sources under `data_root`, in a stable order."""
    files = []
    for source in sources:
        folder = data_root / source
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: corpus folder not found (set --data-root or ENCORE_DATA)")
        files.extend(LISTERS[source](folder))
    return files
