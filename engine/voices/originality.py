"""The piano's originality guard: what it renders is checked against its training corpus before it sounds.

After each render of the piano voice the guard reviews the onsets completed since its last review, with
the top line of the `window_beats` before them, against the fingerprint index shipped beside the
checkpoint (`encore.models.originality`). Where a run of n-grams found in one training piece reaches the
threshold (the index's `min_run` unless `GuardSettings.threshold` says) at a new onset, the voice revises
itself from that onset (the revisable lookahead, `Voice.revise`: the notes from there were rendered a
lookahead ahead of the playhead, so they are taken out of the queue before they sound) and renders it
again hotter: at a temperature of at least `hot_temperature` and `heat` times its own, `heat` times more
for each further try at the same onset. After `max_tries` the onset stands and is counted as let through.

A missing or broken index, or a check that fails, turns the guard off with one line in the log, and the
show plays on; the snapshot and the show's summary say so (`GuardState`). A setlist's `[guard]` table and
the command line (`GuardSettings`) turn it off or name its threshold (`open_guard`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from encore.models.errors import EncoreError
from encore.models.notes import NoteEvent
from encore.models.originality.fingerprints import FingerprintConfig
from encore.models.originality.index import INDEX_FILE, FingerprintIndex
from encore.models.originality.melody import passage_top_line
from encore.models.sampling_config import MAX_TEMPERATURE, SamplingConfig

log = logging.getLogger(__name__)

ON = "on"
TURNED_OFF = "off: turned off"
"""The status of a guard the setlist or the command line turned off."""
MIN_THRESHOLD = FingerprintConfig().ngram_notes
MAX_THRESHOLD = 64


@dataclass(frozen=True)
class GuardSettings:
    """A setlist's `[guard]` table, or `--no-guard` and `--guard-threshold` on the command line.

    Attributes:
        enabled: Whether the piano's renders are checked (shows and `encore generate`: on by default).
        threshold: A passage is a copy when this many consecutive top-line notes of it are found in one
            training piece (`MIN_THRESHOLD` to `MAX_THRESHOLD`; lower catches more); None: the index's
            own (`FingerprintConfig.run_notes`, 7 for the shipped index).
    """

    enabled: bool = True
    threshold: int | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and not MIN_THRESHOLD <= self.threshold <= MAX_THRESHOLD:
            raise ValueError(f"threshold: must be {MIN_THRESHOLD}-{MAX_THRESHOLD} top-line notes in a row "
                             "(default: the index's own, 7)")


@dataclass(frozen=True)
class GuardTuning:
    """How the guard reviews and re-renders.

    Attributes:
        window_beats: Beats of rendered notes each review reads before the new onsets.
        hot_temperature: The least temperature an onset is rendered again at (and at least `heat` times the
            voice's own: a rewind restores the sampler's state, so the voice's own would sample the copy again).
        heat: Each further try at the same onset multiplies that temperature by this.
        max_tries: Tries at one onset before it is let through.
        threshold: `GuardSettings.threshold` (None: the index's own).
    """

    window_beats: float = 32.0
    hot_temperature: float = 1.0
    heat: float = 1.5
    max_tries: int = 6
    threshold: int | None = None


@dataclass(frozen=True)
class GuardState:
    """What the guard has done, for the snapshot and the show's summary.

    Attributes:
        status: `on`, or `off: why`.
        reviews: Renders reviewed.
        rerendered: Onsets rendered again because a passage matched a training piece.
        let_through: Onsets that still matched after `max_tries` and were kept.
        last_match: The training piece of the latest match (None before any).
    """

    status: str
    reviews: int = 0
    rerendered: int = 0
    let_through: int = 0
    last_match: str | None = None

    def summary(self) -> str:
        """One line for the console."""
        if self.status != ON:
            return f"originality guard {self.status}"
        last = f" (last like {self.last_match})" if self.last_match else ""
        return (f"originality guard: {self.rerendered} passages rendered again{last}, {self.let_through} let through, "
                f"{self.reviews} renders checked")


class OriginalityGuard:
    """Reviews one piano voice's renders (its worker thread); `state()` from any thread.

    Args:
        index: The training corpus's fingerprints (None: the guard is off).
        settings: How it reviews and re-renders.
        status: `on`, or why it is off.
    """

    def __init__(self, index: FingerprintIndex | None, settings: GuardTuning | None = None,
                 status: str = ON) -> None:
        self.index = index
        self.settings = settings or GuardTuning()
        self._state = GuardState(status if index is not None else (status if status != ON else "off: no index"))
        self._history: list[NoteEvent] = []
        self._checked_until = -math.inf  # onsets before this beat were reviewed
        self._retry_beat: float | None = None  # the onset being rendered again, and how many tries so far
        self._tries = 0

    @classmethod
    def open(cls, path: Path, settings: GuardTuning | None = None) -> OriginalityGuard:
        """The guard over the index at `path`; off, with one line in the log, if it cannot be read."""
        try:
            return cls(FingerprintIndex.load(path), settings)
        except (EncoreError, OSError, MemoryError) as error:
            log.warning("originality guard off: %s", error)
            return cls(None, settings, f"off: {error}")

    @property
    def min_run(self) -> int:
        """Consecutive n-grams found in one piece that make a match (the threshold's, else the index's)."""
        assert self.index is not None
        config = self.index.config
        threshold = self.settings.threshold
        return config.min_run if threshold is None else max(1, threshold - config.ngram_notes + 1)

    @property
    def on(self) -> bool:
        """Whether the guard checks what the voice renders."""
        return self.index is not None

    def state(self) -> GuardState:
        """What the guard has done so far."""
        return self._state

    def review(self, notes: Sequence[NoteEvent], complete_before: float) -> float | None:
        """Take a render's notes (show beats); return the onset to render again from, if a passage matches.

        Args:
            notes: What the render returned.
            complete_before: The voice's position: onsets before it are complete.
        """
        if self.index is None:
            return None
        try:
            return self._review(notes, complete_before)
        except Exception as error:  # a broken index must never stop the show
            log.warning("originality guard off: the check failed (%s: %s)", type(error).__name__, error)
            self.index = None
            self._state = replace(self._state, status=f"off: the check failed ({type(error).__name__})")
            return None

    def _review(self, notes: Sequence[NoteEvent], complete_before: float) -> float | None:
        assert self.index is not None
        self._state = replace(self._state, reviews=self._state.reviews + 1)
        keep_from = complete_before - self.settings.window_beats
        self._history = [note for note in (*self._history, *notes) if note.onset_beats >= keep_from]
        complete = [note for note in self._history if note.onset_beats < complete_before]
        flagged = self._first_new_match(complete)
        if flagged is None:
            self._checked_until = complete_before
            if self._retry_beat is not None and complete_before > self._retry_beat:
                self._retry_beat, self._tries = None, 0
            return None
        beat, piece = flagged
        self._tries = self._tries + 1 if beat == self._retry_beat else 1
        self._retry_beat = beat
        if self._tries > self.settings.max_tries:
            self._state = replace(self._state, let_through=self._state.let_through + 1)
            self._checked_until, self._retry_beat, self._tries = complete_before, None, 0
            return None
        self._state = replace(self._state, rerendered=self._state.rerendered + 1, last_match=piece)
        return beat

    def _first_new_match(self, notes: Sequence[NoteEvent]) -> tuple[float, str] | None:
        """The earliest onset at or after `_checked_until` at which a run reaches `min_run`, and its piece."""
        assert self.index is not None
        config, min_run = self.index.config, self.min_run
        line = passage_top_line(notes, config.grid_beats)
        found: tuple[float, str] | None = None
        for run in self.index.runs(line):
            if run.length < min_run:
                continue
            ends = line.onset_beats[run.first + min_run + config.ngram_notes - 2 : run.first + run.length
                                    + config.ngram_notes - 1]
            new = ends[ends >= self._checked_until]
            if len(new) and (found is None or new[0] < found[0]):
                found = (float(new[0]), self.index.pieces[run.piece])
        return found

    def forget_from(self, beat: float) -> None:
        """The voice rewound to `beat`: what it rendered from there is gone (worker thread)."""
        self._history = [note for note in self._history if note.onset_beats < beat]
        self._checked_until = min(self._checked_until, beat)

    def sampling(self, base: SamplingConfig, position_beats: float) -> SamplingConfig:
        """The settings for the voice's next token: hotter while it renders a matched onset again."""
        if self._retry_beat is None or position_beats > self._retry_beat:
            return base
        # Always hotter than `base`: the rewind restored the sampler's state, so at `base` the copy would come back.
        heat = self.settings.heat
        hot = max(base.temperature * heat, self.settings.hot_temperature) * heat ** (self._tries - 1)
        return replace(base, temperature=min(hot, MAX_TEMPERATURE))


def open_guard(folder: Path, settings: GuardSettings) -> OriginalityGuard:
    """The guard over the index beside the checkpoint in `folder`, as `settings` ask: turned off (no index
    read, status `TURNED_OFF`), or on at their threshold (off, with one line in the log, without an index)."""
    if not settings.enabled:
        return OriginalityGuard(None, status=TURNED_OFF)
    return OriginalityGuard.open(folder / INDEX_FILE, GuardTuning(threshold=settings.threshold))
