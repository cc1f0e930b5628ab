"""Manifests: text files of one input path per line, read lazily.

A manifest of a few million paths is a few hundred MB; it is read line by line through a
buffered file, so a run holds only the lines it is working on, never the whole list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zoo.errors import InputError


def read_manifest(path: str | Path) -> Iterator[str]:
    """Paths listed in ``path``, one per line, in file order.

    Blank lines and lines starting with ``#`` are skipped; surrounding whitespace is dropped.
    Relative paths are taken relative to the manifest's own folder, so that a manifest
    travels with the files it lists (the way a batch job's working directory may not).
    """
    return _entries(_checked(path))


def _checked(path: str | Path) -> Path:
    """The manifest's path, checked now rather than when the first line is wanted."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such manifest file" if not path.exists() else "not a file")
    return path


def _entries(path: Path) -> Iterator[str]:
    base = path.parent
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            yield entry if Path(entry).is_absolute() else str(base / entry)


def count_manifest(path: str | Path) -> int:
    """Number of paths in a manifest (a progress bar's total, for its ETA), counted lazily."""
    count = 0
    with _checked(path).open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            entry = line.strip()
            count += bool(entry) and not entry.startswith("#")
    return count
