"""The styles a v2 piano vocabulary names after BOS (`Style_<name>`), apart from the tokenizer so that
setlists and commands can check a style without importing MidiTok."""

from __future__ import annotations

STYLES: tuple[str, ...] = ("pop", "score", "performance")
"""Pop arrangement, engraved score, recorded performance."""
