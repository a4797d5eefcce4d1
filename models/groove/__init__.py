"""models/groove."""
