"""One import package: `pip install .` (not editable) gives `encore.*` and nothing else, with the shipped
checkpoints inside it, and the command works from any directory."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import mido
import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("engine", "models", "training", "stage")
OLD_TOP_LEVEL = {*SOURCE_FOLDERS, "benchmarks"}


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_package_imports_only_encore_names_of_its_own() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for folder in SOURCE_FOLDERS
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert not wrong, "\n".join(wrong)


def test_every_package_folder_is_listed_in_pyproject() -> None:
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        "encore." + ".".join(init.parent.relative_to(REPO).parts)
        for folder in SOURCE_FOLDERS
        for init in (REPO / folder).rglob("__init__.py")
    }
    assert on_disk == listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the project's wheel installed; third-party packages come from this venv."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"  # a copy, so that building leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *SOURCE_FOLDERS):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((root / "dist").glob("encore-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Dependencies from this venv; a plain path entry, so its editable-install hook (.pth) stays off.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {name for name in names if not name.endswith(".dist-info")} == {"encore"}
    return venv


def _run(venv: Path, cwd: Path, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ENCORE_DATA")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env={**env, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_installed_package_has_encore_and_not_the_old_names(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    probe = _run(installed, tmp_path, python, "-c",
                 "import encore.engine, encore.models.shipped as s; print(encore.engine.__file__); print(s.CHECKPOINTS)")
    assert probe.returncode == 0, probe.stderr
    engine_file, checkpoints = probe.stdout.split()
    assert Path(engine_file).is_relative_to(installed) and not Path(engine_file).is_relative_to(REPO)
    assert (Path(checkpoints) / "piano-default" / "model.safetensors").is_file()
    assert (Path(checkpoints) / "groove-factorized" / "model.safetensors").is_file()
    for name in ("engine", "models", "training", "stage"):
        missing = _run(installed, tmp_path, python, "-c", f"import {name}")
        assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr, name


@pytest.mark.slow
def test_installed_command_plays_and_generates_from_another_directory(installed: Path, tmp_path: Path) -> None:
    encore = installed / "bin" / "encore"
    play = _run(installed, tmp_path, encore, "play", REPO / "setlists" / "demo.toml", "--headless",
                "--record", "out.mid", "--seconds", "8")
    assert play.returncode == 0, play.stderr[-2000:]
    recorded = mido.MidiFile(tmp_path / "out.mid")
    assert sum(m.type == "note_on" and m.velocity > 0 for t in recorded.tracks for m in t) > 5

    generate = _run(installed, tmp_path, encore, "generate", "--seed", REPO / "setlists" / "seeds" / "pop909_003.mid",
                    "--seconds", "4", "--out", "continued.mid", "--int8", "--random-seed", "1")
    assert generate.returncode == 0, generate.stderr[-2000:]
    assert mido.MidiFile(tmp_path / "continued.mid").length > 4
