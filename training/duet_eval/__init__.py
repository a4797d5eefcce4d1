"""The duet evaluation (`encore duet-eval`, docs/duet.md): POP909 melodies played into the piano's duet on the
engine's virtual clock, its notes scored per beat against the songs' annotated chords."""
