"""MIDI controllers and keyboards: CC/note mappings, learn mode, phrases played as seeds (`--midi-in`).

    encore play setlists/demo.toml --midi-in "MPK" [--midi-api alsa|jack] [--controller-map my.toml]

| module | job |
| --- | --- |
| `messages.py` | raw MIDI bytes to `ControllerMessage` (CC, note-on, note-off; channels 1-16) |
| `controls.py` | the controls table (`CONTROLS`) and a gesture on a binding turned into a wire command |
| `mapping.py` | `Binding`, `ControllerMap`, `CaptureSettings`; TOML load/save with `FILE:LINE` errors |
| `gestures.py` | messages read as knob turns and button presses (a CC presses on its rising edge through 64) |
| `learn.py` | `Learner`: learn mode as a UI-agnostic state machine |
| `performer.py` | `ShowClock`, `PerformerInput`: a keyboard's notes timed in show seconds and beats (for phrase capture, and duet modes) |
| `performing.py` | `PerformerRelay`: unbound notes as wire `note` commands, CC 67 as `respond` (the performer modes) |
| `phrase.py` | `PhraseCapture`: armed by the `capture` control or always; silence ends a phrase |
| `midi_input.py` | `MidiInput`: the port on whichever API has it; watched, reopened when it comes back |
| `surface.py` | `ControllerSurface`: the `Surface` `encore play` runs beside the show |
| `options.py` | `--midi-in`, `--controller-map` and the surface they build |

The shipped mapping, `mappings/generic-8-knob.toml`, is for a controller whose 8 knobs send CC 70-77
(any channel) and whose 8 pads send notes 36-43 on channel 10; any other note is a performer's note.
Every command goes through the wire format and `show.submit`; results are reported by the surface.
"""
