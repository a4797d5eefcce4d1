"""training/piano."""
