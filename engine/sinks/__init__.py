"""Outputs of the engine: every sink receives every sent event (see `base.Sink`)."""
