"""The Textual terminal UI a performer steers a show from (`encore play` in a terminal)."""
