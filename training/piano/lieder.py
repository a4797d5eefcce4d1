"""OpenScore Lieder (compressed MusicXML) to MIDI, once, with music21 (the `prep` extra).

Each song becomes a MIDI file of two tracks, `piano` (both piano staves) and `voice` (every other part,
usually the singer), so the piano preparation reads it like any other MIDI file and can make the voice
the performer's part. Repeats are expanded where music21 can; about 1 song in 40 fails that and is read
as written. Songs without a piano part (a few choral pieces) are skipped. A converted song is not
converted again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from symusic import Score, Track

from encore.models.midi_io import merge_tracks
from encore.training import paths

VOICE_TRACK, PIANO_TRACK = "voice", "piano"


@dataclass(frozen=True)
class LiederOutcome:
    """What happened to one song: written, skipped (and why), or already converted."""

    source: Path
    target: Path
    reason: str = ""


def lieder_midi_dir() -> Path:
    """Where converted songs are kept (`.cache/lieder-midi`, mirroring `scores/`)."""
    return paths.cache_dir("lieder-midi")


def target_of(score_path: Path, scores_root: Path, out_dir: Path) -> Path:
    """The MIDI path of a song, mirroring its place under `scores/`."""
    return out_dir / score_path.relative_to(scores_root).with_suffix(".mid")


def _is_piano_part(part) -> bool:
    """A piano staff: music21 reads a grand staff as `PartStaff`s; a plain part named piano counts too."""
    name = (part.partName or "").lower()
    return type(part).__name__ == "PartStaff" or "piano" in name or "pianoforte" in name


def _write_expanded(score, path: Path) -> None:
    """Write `score` as MIDI with its repeats expanded, or as written where music21 cannot expand them."""
    try:
        score.write("midi", fp=path)  # music21 expands the repeats on the way
    except Exception:  # repeat marks music21 cannot expand: read as written
        _drop_repeats(score)
        score.write("midi", fp=path)


def _drop_repeats(score) -> None:
    """Remove repeat barlines, endings and repeat marks (segno, coda, D.C., ...) in place."""
    from music21 import bar, repeat, spanner

    for measure in score.recurse().getElementsByClass("Measure"):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, None)
    for kind in (repeat.RepeatMark, spanner.RepeatBracket):
        for element in list(score.recurse().getElementsByClass(kind)):
            element.activeSite.remove(element)


def convert_song(score_path: Path, target: Path) -> str:
    """Write `score_path` as a two-track MIDI file at `target`; return why not, or "" when written."""
    from music21 import converter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score = converter.parse(score_path)
        except Exception as error:  # music21 raises many kinds for malformed MusicXML
            return f"unreadable ({type(error).__name__})"
        roles = [_is_piano_part(part) for part in score.parts]
        if not any(roles):
            return "no piano part"
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_suffix(".m21.mid")
        try:
            _write_expanded(score, scratch)
        except Exception as error:
            return f"MIDI export failed ({type(error).__name__})"
    raw = Score(str(scratch))
    scratch.unlink()
    piano_names = {part.partName for part, piano in zip(score.parts, roles, strict=True) if piano}
    piano = merge_tracks(raw, lambda track: track.name in piano_names)
    voice = merge_tracks(raw, lambda track: track.name not in piano_names and not track.is_drum)
    if len(piano.tracks[0].notes) == 0:
        return "no piano notes"
    out = Score(raw.tpq)
    out.tempos, out.time_signatures = raw.tempos.copy(), raw.time_signatures.copy()
    for name, program, part in ((PIANO_TRACK, 0, piano), (VOICE_TRACK, 52, voice)):
        track = Track(name=name, program=program)
        track.notes = part.tracks[0].notes.copy()
        out.tracks.append(track)
    out.dump_midi(str(target))
    return ""


def _convert_star(args: tuple[Path, Path]) -> LiederOutcome:
    source, target = args
    if target.is_file():
        return LiederOutcome(source, target, "already converted")
    return LiederOutcome(source, target, convert_song(source, target))


def convert_lieder(data_root: Path, out_dir: Path | None = None, workers: int = 1,
                   progress: bool = True) -> list[LiederOutcome]:
    """Convert every song of `data_root/openscore_lieder/scores` that is not converted yet."""
    scores_root = Path(data_root) / "openscore_lieder" / "scores"
    out_dir = out_dir or lieder_midi_dir()
    songs = sorted(scores_root.rglob("*.mxl"))
    jobs = [(song, target_of(song, scores_root, out_dir)) for song in songs]
    with get_context("spawn").Pool(workers) as pool:
        outcomes = pool.imap(_convert_star, jobs, chunksize=4)
        if progress:
            from tqdm import tqdm

            outcomes = tqdm(outcomes, total=len(jobs), desc="converting Lieder", unit="song")
        return list(outcomes)
