"""models/piano."""
