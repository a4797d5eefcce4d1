"""engine/voices."""
