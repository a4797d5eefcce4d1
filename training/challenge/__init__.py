"""Challenge entries (an hour of music from a seed, the grader's rules, per-chunk reports) and the copy check."""
