"""training/groove."""
