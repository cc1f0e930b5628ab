"""Expanding files, directories and globs into a lazy stream of paths.

A directory of a million files must not be listed into memory, so everything here is a
generator over ``os.scandir`` / ``glob.iglob``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

GLOB_CHARS = set("*?[")


def walk_files(directory: str | Path) -> Iterator[Path]:
    """Files below ``directory`` in sorted order per level, without listing the whole tree."""
    stack = [Path(directory)]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
        subdirs = []
        for entry in ordered:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                subdirs.append(Path(entry.path))
            else:
                yield Path(entry.path)
        stack.extend(reversed(subdirs))


def expand_inputs(items: Iterable[str | Path]) -> Iterator[Path]:
    """Yield files named by ``items``: plain paths, directories (recursively) and globs.

    A path that does not exist is yielded as is, so that reading it reports a clear
    "no such file" error for that item while the rest of the batch goes on.
    """
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            yield from walk_files(path)
        elif not path.exists() and GLOB_CHARS & set(text):
            for match in glob.iglob(text, recursive=True):
                if Path(match).is_dir():
                    yield from walk_files(match)
                else:
                    yield Path(match)
        else:
            yield path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
