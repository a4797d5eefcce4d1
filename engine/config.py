"""The timing settings of a show (`EngineConfig`); docs/engine.md explains each policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from encore.engine.clock import seconds_to_beats
from encore.engine.scheduler import LatePolicy

MIN_CHUNK_SHARE = 0.125
"""The shortest render, as a share of `render_chunk_beats` (a voice at or behind the playhead)."""


@dataclass(frozen=True)
class EngineConfig:
    """Timing settings of a show.

    Attributes:
        bpm: Starting tempo.
        time_signature: `(numerator, denominator)`.
        lookahead_bars: How far ahead of the playhead each voice stays, in bars.
        min_lookahead_s: The lookahead never falls below this many seconds.
        render_chunk_beats: A render goes at most this far past the voice's position (so renders are not
            per token, and a voice rewound far behind catches up in short renders).
        commit_s: The commit horizon: notes due within this many seconds of the playhead are final;
            later ones are revised when a command changes what their voice plays (docs/engine.md).
            None turns revisions off: a change then sounds after what is already rendered.
        commit_min_s: A change may reach back before the commit horizon, to the first onset of the voice's
            queued notes at least this far ahead that the voice can render again before it is due (from
            the voice's `answer_tokens` and its measured decoding speed; at once on the virtual clock).
            None: changes always wait for the commit horizon.
        preroll_beats: Rendered before the clock starts (the rest is rendered while playing).
        start_delay_s: Show time 0 is this long after the preroll ends.
        tick_s: How often the engine looks at its voices and commands.
        spin_s: The sender spins (instead of sleeping) this long before each deadline.
        sender_priority: SCHED_FIFO priority asked for the sender thread in real-time shows (None:
            normal priority); refused quietly without the privilege (docs/engine.md).
        render_priority: SCHED_RR priority asked for each voice's render thread in real-time shows (None:
            normal priority); below `sender_priority`, so the sender preempts them, while ordinary programs
            do not preempt a render thread holding the GIL (docs/busy-machine.md).
        loop_priority: SCHED_RR priority asked for the event loop's thread during real-time shows (None:
            left as it is); measured without a clear gain so far (docs/busy-machine.md).
        switch_interval_s: `sys.setswitchinterval` during real-time shows (None leaves it), so the
            sender gets the GIL back from a decoding thread within this time (docs/engine.md).
        late: The underrun policy.
    """

    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    lookahead_bars: float = 1.0
    min_lookahead_s: float = 0.2
    render_chunk_beats: float = 1.0
    commit_s: float | None = 0.1
    commit_min_s: float | None = 0.05
    preroll_beats: float = 1.0
    start_delay_s: float = 0.05
    tick_s: float = 0.01
    spin_s: float = 0.002
    sender_priority: int | None = 10
    render_priority: int | None = 1
    loop_priority: int | None = None
    switch_interval_s: float | None = 0.0005
    late: LatePolicy = field(default_factory=LatePolicy)

    def lookahead_beats(self, bpm: float, bar_beats: float) -> float:
        """How far ahead of the playhead voices stay: `lookahead_bars`, never under `min_lookahead_s` at `bpm`."""
        return max(self.lookahead_bars * bar_beats, seconds_to_beats(self.min_lookahead_s, bpm))

    def render_target(self, position: float, playhead: float, lookahead: float, revision_pending: bool) -> float | None:
        """Where a voice at `position` renders to next: while it is short of the lookahead, on by a chunk, but
        no further than it is ahead of the playhead (a voice just rewound to the commit horizon brings its
        first notes back after a few tokens, then twice as many...); where it is when a revision waits
        (the render takes it and returns); None when it need not render."""
        if position < playhead + lookahead:
            chunk = self.render_chunk_beats
            return position + min(chunk, max(position - playhead, chunk * MIN_CHUNK_SHARE))
        return position if revision_pending else None
