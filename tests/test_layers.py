"""The layers are a checked contract (`.importlinter`, run by `make lint`): `encore.stage` over
`encore.training` over `encore.engine` over `encore.models`, a layer importing only those below it; and
no module or package of `encore.engine` imports one that imports it back.

The contracts hold on the real tree, and each breaks when a copy of the tree gains imports the wrong way
(at the top of a module, inside a function, under `TYPE_CHECKING`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("stage", "training", "engine", "models")  # top to bottom, as in `.importlinter`
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> tuple[int, str]:
    """`lint-imports` on the contract in `cwd` (no cache, so that nothing is read from an earlier run)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / ".importlinter")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def _analysed_files(output: str) -> int:
    found = re.search(r"Analy[sz]ed (\d+) files", output)
    assert found, output
    return int(found.group(1))


def _source_count(root: Path) -> int:
    return sum(1 for layer in LAYERS for _ in (root / layer).rglob("*.py"))


def test_the_layers_contract_is_kept() -> None:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: install the test extra (import-linter)"
    code, output = _lint_imports(REPO)
    assert code == 0, output
    assert "Contracts: 2 kept, 0 broken." in output, output
    # The namespace package was resolved: every source file of the four layers was read.
    assert _analysed_files(output) == _source_count(REPO), output


BREACHES = {
    # module added to the copy -> (its source, the import the contract must name)
    "models/upward_to_stage.py": (
        "from encore.stage.cli import main\n",
        "encore.models.upward_to_stage -> encore.stage.cli",
    ),
    "models/upward_to_engine.py": (
        "def later():\n    from encore.engine.show import Show\n\n    return Show\n",
        "encore.models.upward_to_engine -> encore.engine.show",
    ),
    "engine/upward_to_training.py": (
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import encore.training.paths\n",
        "encore.engine.upward_to_training -> encore.training.paths",
    ),
}


def _copy_tree(tmp_path: Path) -> Path:
    """A copy of the four layers (Python files only) under a namespace folder `encore`, with the real contracts."""
    package = tmp_path / "encore"
    for layer in LAYERS:
        shutil.copytree(REPO / layer, package / layer,
                        ignore=lambda folder, names: [
                            name for name in names
                            if not name.endswith(".py") and not (Path(folder) / name).is_dir()
                            or name == "__pycache__"
                        ])
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return package


def test_an_import_against_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    package = _copy_tree(tmp_path)
    for path, (source, _) in BREACHES.items():
        (package / path).write_text(source)

    code, output = _lint_imports(tmp_path, pythonpath=tmp_path)

    assert code != 0, output
    assert "Contracts: 1 kept, 1 broken." in output, output  # the engine's acyclic contract still holds
    # The copy, not the installed tree, was checked: it has the added modules, and each is named.
    assert _analysed_files(output) == _source_count(package), output
    for _, expected in BREACHES.values():
        assert expected in output, output


def test_an_import_cycle_in_the_engine_breaks_its_contract(tmp_path: Path) -> None:
    # The performer importing a command module back (commands.performing imports the performer), and
    # two new modules importing each other, one of them only inside a function.
    package = _copy_tree(tmp_path)
    performer = package / "engine" / "performer.py"
    performer.write_text(performer.read_text() + "\n\ndef _later():\n    from encore.engine.commands import performing\n\n"
                         "    return performing\n")
    (package / "engine" / "loop_a.py").write_text("import encore.engine.loop_b\n")
    (package / "engine" / "loop_b.py").write_text("def later():\n    import encore.engine.loop_a\n")

    code, output = _lint_imports(tmp_path, pythonpath=tmp_path)

    assert code != 0, output
    assert "Contracts: 1 kept, 1 broken." in output, output  # the layers still hold
    assert "No cycles are allowed in encore.engine." in output, output
    assert ".performer -> .commands" in output or ".commands -> .performer" in output, output
    assert ".loop_a -> .loop_b" in output or ".loop_b -> .loop_a" in output, output
