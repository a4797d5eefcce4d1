"""`encore duet-eval`: the piano in duet with POP909's melodies, scored against the songs' chords.

For each song of the split (in order; songs whose tempo changes or that are too short are skipped and
named), one window (`songs.song_window`) is played twice on the engine's virtual clock with the same
seed and sampling seed: in duet with the melody, and with nobody playing. Those two, the song's real
accompaniment and the same a tritone away are scored (`measures.measure_part`); a PNG per song and
`summary.md` / `summary.json` are written (rewritten after each song, so a long run leaves its partial
table).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from encore.training.duet_eval.measures import Scoring, measure_part, transpose
from encore.training.duet_eval.plot import plot_song
from encore.training.duet_eval.report import ROWS, SongResult, markdown, report_dict
from encore.training.duet_eval.runner import DuetRun, PianoChoice, play_window
from encore.training.duet_eval.songs import (
    SongSkipped,
    SongWindow,
    pop909_folder,
    read_index,
    read_song,
    song_window,
    split_songs,
)

TRITONE = 6


@dataclass(frozen=True)
class DuetEvalConfig:
    """What `encore duet-eval` plays and where it writes.

    Attributes:
        data_root: Folder holding `pop909/`.
        out_dir: Where the PNGs and the summary go.
        piano: The checkpoint judged and its sampling seed.
        songs: How many songs to score (the first that qualify).
        song_ids: These songs instead of the split's (still skipped if they do not qualify).
        split: The split the songs come from (`encore.training.piano.sources.split_of`).
        bars: Bars scored per song.
        seed_bars: Bars of the song's PIANO part before them, the piano's seed.
        plots: Write a PNG per song.
    """

    data_root: Path
    out_dir: Path
    piano: PianoChoice = field(default_factory=PianoChoice)
    songs: int = 10
    song_ids: tuple[str, ...] = ()
    split: str = "test"
    bars: int = 16
    seed_bars: int = 4
    plots: bool = True

    def __post_init__(self) -> None:
        if self.songs < 1 or self.bars < 1 or self.seed_bars < 1:
            raise ValueError("songs, bars and seed_bars must be at least 1")


def select_windows(config: DuetEvalConfig) -> tuple[list[SongWindow], dict[str, str]]:
    """The first `config.songs` windows that can be played, and the songs skipped before them with why.

    Raises:
        EncoreError: no POP909 data under `config.data_root` (one line naming it).
    """
    folder = pop909_folder(config.data_root)
    index = read_index(folder)
    ids = [song.zfill(3) for song in config.song_ids] or split_songs(folder, config.split)
    windows: list[SongWindow] = []
    skipped: dict[str, str] = {}
    for song in ids:
        if len(windows) == config.songs:
            break
        try:
            if song not in index:
                raise SongSkipped("not in POP909's index")
            windows.append(song_window(read_song(folder, song, index[song]), config.bars, config.seed_bars))
        except SongSkipped as reason:
            skipped[song] = str(reason)
    return windows, skipped


def _run_stats(run: DuetRun) -> dict[str, float | str | None]:
    return {k: v for k, v in asdict(run).items() if k != "notes"}


def evaluate_window(window: SongWindow, piano: PianoChoice, plot: Path | None = None) -> SongResult:
    """Play the window in duet and alone, score the four parts, and draw them to `plot` if given."""
    duet = play_window(window, piano, duet=True)
    free = play_window(window, piano, duet=False)
    scoring = Scoring(window.melody, window.chords, window.distribution, window.window_beats, window.bpm,
                      window.bar_beats)
    notes = {"duet": duet.notes, "free": free.notes, "real": window.accompaniment,
             "tritone": tuple(transpose(window.accompaniment, TRITONE))}
    if plot is not None:
        plot_song(window, {ROWS[k]: notes[k] for k in ("duet", "free", "real")}, plot)
    return SongResult(window.song_id, window.bpm, window.start_beats, window.window_beats,
                      {k: measure_part(v, scoring) for k, v in notes.items()},
                      {"duet": _run_stats(duet), "free": _run_stats(free)})


def _settings(config: DuetEvalConfig) -> dict[str, object]:
    return {"checkpoint": config.piano.checkpoint, "sampling_seed": config.piano.sampling_seed,
            "style": config.piano.style, "split": config.split, "songs": config.songs,
            "song_ids": list(config.song_ids), "bars": config.bars, "seed_bars": config.seed_bars}


def write_report(config: DuetEvalConfig, results: list[SongResult], skipped: dict[str, str], wall_s: float) -> Path:
    """`summary.md` and `summary.json` in `config.out_dir`; returns the Markdown file."""
    config.out_dir.mkdir(parents=True, exist_ok=True)
    settings = {**_settings(config), "wall_s": round(wall_s, 1)}
    header = (f"Duet evaluation of `{config.piano.checkpoint}` on {len(results)} POP909 {config.split}-split songs, "
              f"{config.bars} bars each after a {config.seed_bars}-bar seed (sampling seed {config.piano.sampling_seed}; "
              f"{wall_s / 60:.1f} min).")
    (config.out_dir / "summary.json").write_text(json.dumps(report_dict(results, skipped, settings), indent=2) + "\n")
    path = config.out_dir / "summary.md"
    path.write_text(markdown(results, skipped, header))
    return path


def run_duet_eval(config: DuetEvalConfig, progress: bool = True) -> tuple[list[SongResult], dict[str, str]]:
    """Score every selected song (a tqdm bar with ETA), writing the report after each.

    Raises:
        EncoreError: no POP909 data, or the checkpoint cannot be loaded (one line each).
    """
    from tqdm import tqdm

    windows, skipped = select_windows(config)
    started = time.perf_counter()
    results: list[SongResult] = []
    bar = tqdm(windows, desc="duet-eval", unit="song", disable=not progress)
    for window in bar:
        bar.set_postfix_str(f"song {window.song_id}")
        plot = config.out_dir / "songs" / f"{window.song_id}.png" if config.plots else None
        results.append(evaluate_window(window, config.piano, plot))
        write_report(config, results, skipped, time.perf_counter() - started)
    if not windows:
        write_report(config, results, skipped, time.perf_counter() - started)
    return results, skipped
