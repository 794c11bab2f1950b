"""Every data file of alprkit's packages is in the wheel: a file the package-data patterns miss exists in
a clone but not in `pip install .` (the base install would lose its ONNX files or its label font)."""

import fnmatch
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")


def _names_seen_by_patterns(path: Path, root: Path):
    """The file's path relative to each folder from its own up to ``root``: every folder is a package to
    setuptools (namespace packages), and each package's patterns are matched against paths below it."""
    folder = path.parent
    while True:
        yield path.relative_to(folder).as_posix()
        if folder == root:
            return
        folder = folder.parent


def _data_files():
    for root in [REPO / "alprkit", *sorted((REPO / "plugins").glob("alprkit_*"))]:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                yield root, path


def test_package_data_patterns_cover_every_data_file():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    missed = []
    for root, path in _data_files():
        names = list(_names_seen_by_patterns(path, root))
        # As setuptools globs: a '*' does not cross a '/'.
        if not any(name.count("/") == pattern.count("/") and fnmatch.fnmatchcase(name, pattern)
                   for name in names for pattern in patterns):
            missed.append(str(path.relative_to(REPO)))
    assert not missed, f"not in the wheel (add a package-data pattern in pyproject.toml): {missed}"
