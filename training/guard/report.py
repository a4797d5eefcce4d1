"""`encore guard report`: which passages of a recording came close to the training data, and how close.

The recording is read in seconds through its tempo map (a show's recording keeps the show's tempo) and
cut into 5-second chunks at a stride; each chunk is compared with every window of the training split's
files by the exact copy check (`encore.training.challenge.plagiarism.search`), in both modes, down to
the calibration's floors (0.998 by pitches, 0.999 by contours): everything the calibration measured
exactly. A passage at or above the mode's calibrated threshold is flagged. Where the guard's index is
given, each close passage also says what the index finds in it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from encore.models.errors import EncoreError
from encore.models.originality.index import FingerprintIndex
from encore.training.challenge.check import clock_text, default_threshold, flags_from_matches
from encore.training.challenge.chunks import ChunkConfig, read_steps, stride_to_steps
from encore.training.challenge.corpus import load_corpus
from encore.training.challenge.plagiarism import entry_queries, search
from encore.training.guard.passages import read_timed
from encore.training.piano.sources import list_corpus

CLOSE_FLOOR = {False: 0.998, True: 0.999}
"""The lowest NDTW reported, by mode (transposition mode: True): the calibration's floors."""
MODE_NAME = {False: "pitches", True: "contours"}


@dataclass(frozen=True)
class ClosePassage:
    """A chunk of the recording whose best window in one training file reaches the floor of a mode."""

    start_s: float
    transposed: bool
    ndtw: float
    source: str
    source_s: float
    guard: str | None = None

    @property
    def flagged(self) -> bool:
        """At or above the mode's calibrated threshold."""
        return self.ndtw >= default_threshold(self.transposed)

    def line(self) -> str:
        """One line of the report."""
        mark = "FLAG " if self.flagged else "close"
        guard = f"; guard: {self.guard}" if self.guard is not None else ""
        return (f"{mark} {clock_text(self.start_s)}  by {MODE_NAME[self.transposed]:8s} NDTW {self.ndtw:.6f} "
                f"(flag at {default_threshold(self.transposed):g})  {self.source} at {clock_text(self.source_s)}{guard}")


@dataclass
class RecordingReport:
    """The outcome of one report."""

    recording: str
    chunks: int
    skipped: int
    corpus_files: int
    corpus_hours: float
    seconds: float
    passages: list[ClosePassage] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        """Chunks with a flagged passage."""
        return len({passage.start_s for passage in self.passages if passage.flagged})

    def lines(self) -> list[str]:
        """The human-readable report."""
        out = [f"{self.recording}: {self.chunks} chunks of 5 s ({self.skipped} left out: too few onsets) against "
               f"{self.corpus_files} training files ({self.corpus_hours:.1f} h), in {self.seconds:.1f} s"]
        out += [passage.line() for passage in self.passages]
        close = len({passage.start_s for passage in self.passages})
        out.append(f"{close} chunks came close, {self.flagged} flagged" if self.passages
                   else "clean: no chunk comes close to a training file")
        return out



def report_recording(recording: Path, data_root: Path, sources: Sequence[str], stride_s: float = 5.0,
                     index_path: Path | None = None, progress: bool = True, config: ChunkConfig | None = None,
                     corpus_cache: Path | None = None) -> RecordingReport:
    """Compare a recording with the training split of `sources` under `data_root` (see the module docstring);
    the corpus is cached in `corpus_cache` (default .cache/plagiarism).

    Raises:
        EncoreError: the data or the recording cannot be read, or the index is broken.
    """
    config = config or ChunkConfig()
    started = time.perf_counter()
    try:
        files = [file.path for file in list_corpus(Path(data_root), tuple(sources)) if file.split == "train"]
    except FileNotFoundError as error:
        raise EncoreError(str(error)) from None
    if not files:
        raise EncoreError(f"{data_root}: no training files of {', '.join(sources)}")
    corpus = load_corpus(files, config, corpus_cache, progress=progress)
    queries = entry_queries(read_steps(Path(recording), config), config, stride_to_steps(stride_s, config))
    index = FingerprintIndex.load(index_path) if index_path is not None else None
    timed = read_timed(Path(recording)) if index is not None else None
    passages = []
    for transposed in (False, True):
        matches = search(queries.windows, corpus, CLOSE_FLOOR[transposed], transpose=transposed, progress=progress)
        best: dict[float, ClosePassage] = {}
        for flag in flags_from_matches(matches, queries, corpus):
            if flag.entry_s not in best or flag.ndtw > best[flag.entry_s].ndtw:
                guard = None
                if index is not None and timed is not None:
                    found = index.match(timed.chunk_notes(flag.entry_s, config))
                    guard = (f"matches {found.piece} ({found.run_notes} top-line notes)" if found.matched
                             else "no match")
                best[flag.entry_s] = ClosePassage(flag.entry_s, transposed, flag.ndtw, flag.source, flag.source_s, guard)
        passages += best.values()
    passages.sort(key=lambda passage: (passage.start_s, passage.transposed))
    return RecordingReport(str(recording), queries.total, queries.skipped, len(corpus.files), corpus.hours,
                           time.perf_counter() - started, passages)
