"""MIDI controllers and keyboards: CC/note mappings, learn mode, phrases played as seeds (`--midi-in`)."""
