"""Modal screens: a list to choose from (seeds, grooves, learn targets), a file picker, a yes/no question.

Each closes with Enter (choose) or `q` (cancel); Escape stays the app's panic key everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label, OptionList
from textual.widgets.option_list import Option

MIDI_SUFFIXES = (".mid", ".midi")
HINT = "Enter choose · q close · Esc PANIC"


class ChoiceScreen(ModalScreen[str | None]):
    """Choose one of `choices` (`(id, label)` pairs); dismisses with the id, or None on `q`.

    Args:
        title: What is being chosen.
        choices: Ids and the labels shown.
    """

    BINDINGS = [Binding("q", "dismiss_none", "close")]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*(Option(label, id=key) for key, label in self.choices), id="choices")
            yield Label(HINT, classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class MidiTree(DirectoryTree):
    """A directory tree showing folders and MIDI files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")
                and (path.is_dir() or path.suffix.lower() in MIDI_SUFFIXES)]


class FileScreen(ModalScreen[Path | None]):
    """Pick a MIDI file under `root`; dismisses with its path, or None on `q`."""

    BINDINGS = [Binding("q", "dismiss_none", "close")]

    def __init__(self, title: str, root: Path) -> None:
        super().__init__()
        self.title_text = title
        self.root = root

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield MidiTree(self.root, id="files")
            yield Label(HINT, classes="hint")

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: `y` dismisses with True, `n` or `q` with False."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,q", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Label(self.question, classes="dialog-title")
            yield Label("y yes · n no · Esc PANIC", classes="hint")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def seed_files(folder: Path | None) -> list[Path]:
    """MIDI files in a setlist's folder and its `seeds/`, by name."""
    if folder is None:
        return []
    found = [path for where in (folder, folder / "seeds") if where.is_dir()
             for path in where.iterdir() if path.suffix.lower() in MIDI_SUFFIXES and path.is_file()]
    return sorted(found, key=lambda path: (path.name, str(path)))
