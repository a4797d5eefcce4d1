"""Following and leading external clocks: MIDI clock out and in, Ableton Link."""
