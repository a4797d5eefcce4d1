"""No source file of the package or the benchmarks is over 400 lines (STYLE.md: small modules with one
job; issue 27). A file that grows past it is split by responsibility, not trimmed."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("engine", "models", "training", "stage", "benchmarks")
MAX_LINES = 400


def line_counts(root: Path) -> dict[str, int]:
    """Lines of every .py file under the package's folders and the benchmarks, by path from `root`."""
    return {str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
            for folder in FOLDERS for path in sorted((root / folder).rglob("*.py"))}


def test_no_file_is_over_the_limit() -> None:
    counts = line_counts(REPO)
    assert len(counts) > 100  # the folders were found
    over = {path: lines for path, lines in counts.items() if lines > MAX_LINES}
    assert not over, f"over {MAX_LINES} lines, split by responsibility: {over}"


def test_the_count_sees_a_long_file(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "engine" / "short.py").write_text("x = 1\n" * MAX_LINES)
    assert line_counts(tmp_path) == {"engine/long.py": MAX_LINES + 1, "engine/short.py": MAX_LINES}
