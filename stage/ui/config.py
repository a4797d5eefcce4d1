"""What the terminal UI can be tuned with: one dataclass, its defaults fit a show at 80x24 and larger."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UiConfig:
    """Settings of the terminal UI.

    Attributes:
        poll_hz: Snapshots read (and the screen redrawn) per second.
        strained_poll_hz: The rate while a voice falls behind (`ShowSnapshot.strained`): the UI leaves the
            machine to the music until the voices are ahead again.
        temperature_step: One press of `t`/`T` changes the selected voice's temperature by this much.
        top_p_step: One press of `p`/`P` changes its top-p by this much.
        tempo_step_bpm: One press of `-`/`+` changes the tempo by this much.
        reseed_bars: `e` re-seeds the selected voice from this many whole bars before the current one.
        roll_bars: Bars of notes the piano roll shows (at most the snapshot's 8).
        tap_reset_s: A tap this long after the last one starts a new tap-tempo count.
    """

    poll_hz: float = 20.0
    strained_poll_hz: float = 4.0
    temperature_step: float = 0.05
    top_p_step: float = 0.02
    tempo_step_bpm: float = 2.0
    reseed_bars: int = 4
    roll_bars: int = 4
    tap_reset_s: float = 2.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.poll_hz <= 60.0 or not 1.0 <= self.strained_poll_hz <= self.poll_hz:
            raise ValueError(f"poll_hz: must be 1-60, got {self.poll_hz}, and strained_poll_hz 1 to poll_hz, "
                             f"got {self.strained_poll_hz}")
        if not 1 <= self.reseed_bars <= 8 or not 1 <= self.roll_bars <= 8:
            raise ValueError("reseed_bars and roll_bars: must be 1-8 (the snapshot keeps 8 bars of notes)")
