"""Input files and output files, both handled so that one bad path never ends a run.

Inputs: files, directories and globs expand into a lazy stream of paths (a directory of a
million files must not be listed into memory), without ever raising: a folder that cannot be
listed, a link back to a folder above it, an empty folder or a pattern that matches nothing
is yielded as it is, and :func:`check_input_file` - which every reader calls first - names
its problem in one line. That check never opens the path, so a FIFO or a device cannot block.

Outputs: :class:`AtomicOutput` writes beside the target and renames only on commit, so an
existing file is never half-written, never replaced by a failed run, and never replaced when
it is not a regular file.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import glob
import os
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from zoo.errors import InputError, ZooError
from zoo.io.limits import limits, over_limit

GLOB_CHARS = set("*?[")

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def walk_files(directory: str | Path) -> Iterator[Path]:
    """Paths below ``directory`` in sorted order per level, without listing the whole tree.

    Links to folders are followed, except back into a folder above them (``ln -s . self``);
    such a link, a folder that cannot be listed, and ``directory`` itself when it holds no
    file at all are yielded as they are, for :func:`check_input_file` to report.
    """
    root = Path(directory)
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(root, frozenset())]
    found = False
    while stack:
        current, above = stack.pop()
        try:
            info = os.stat(current)
            with os.scandir(current) as entries:
                ordered = sorted(entries, key=lambda e: e.name)
        except OSError:
            found = True
            yield current
            continue
        here = above | {(info.st_dev, info.st_ino)}
        subdirs = []
        for entry in ordered:
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                subdirs.append(Path(entry.path))
            else:
                found = True
                yield Path(entry.path)
        for sub in reversed(subdirs):
            try:
                sub_info = os.stat(sub)
            except OSError:
                found = True
                yield sub
                continue
            if (sub_info.st_dev, sub_info.st_ino) in here:
                found = True
                yield sub  # a loop: reported, not followed
            else:
                stack.append((sub, here))
    if not found:
        yield root


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def check_input_name(text: str) -> str:
    """``text``, refused when empty or blank: ``Path("")`` is ".", and an empty name (an unset
    shell variable, a blank manifest line) must not mean "every file in this folder"."""
    if not text.strip():
        raise ZooError(f"an empty input name ({text!r}) was given; name a file, folder or glob")
    return text


def expand_inputs(items: Iterable[str | Path]) -> Iterator[Path]:
    """Yield files named by ``items``: plain paths, directories (recursively) and globs.

    Never raises for a bad item: a path that does not exist, or a glob that matches nothing,
    is yielded as it is, so that reading it reports the problem for that item while the rest
    of the batch goes on.
    """
    for item in items:
        text = check_input_name(str(item))
        path = Path(text)
        if _isdir(path):
            yield from walk_files(path)
        elif not os.path.lexists(text) and GLOB_CHARS & set(text):
            matched = False
            for match in glob.iglob(text, recursive=True):
                matched = True
                if _isdir(Path(match)):
                    yield from walk_files(match)
                else:
                    yield Path(match)
            if not matched:
                yield path
        else:
            yield path


def _isdir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def input_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as an input file, or None; found without opening it."""
    text = str(path)
    try:
        info = os.stat(text)
    except FileNotFoundError:
        if os.path.islink(text):
            return "broken symbolic link (its target does not exist)"
        if GLOB_CHARS & set(text):
            return "no file matches this pattern"
        return "no such file"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.EACCES:
            return "permission denied"
        if exc.errno == errno.ENOTDIR:
            return "no such file (a parent is not a folder)"
        return f"cannot read it ({exc.strerror})"
    except ValueError as exc:  # an embedded NUL byte
        return f"invalid path ({exc})"
    if stat.S_ISDIR(info.st_mode):
        if _links_above_itself(text):
            return "symbolic link loop (points to a folder above it)"
        if not os.access(text, os.R_OK | os.X_OK):
            return "folder cannot be read (permission denied)"
        try:
            with os.scandir(text) as entries:
                next(iter(entries))
        except StopIteration:
            return "empty folder: no input files"
        except OSError as exc:
            return f"folder cannot be read ({exc.strerror})"
        return "folder holds no input files"
    for test, kind in _KINDS:
        if test(info.st_mode):
            return f"is {kind}, not a regular file"
    if not os.access(text, os.R_OK):
        return "permission denied"
    return None


def _links_above_itself(text: str) -> bool:
    real = os.path.realpath(text)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(text)))
    return parent == real or parent.startswith(real.rstrip(os.sep) + os.sep)


def check_input_file(path: str | Path, whole: bool = False) -> Path:
    """``path`` as a Path when it is a readable regular file, else one-line InputError.

    ``whole=True`` is for readers that load the whole file into memory: the file must then
    also fit the ``max_bytes`` limit.
    """
    problem = input_problem(path)
    if problem is not None:
        raise InputError(path, problem)
    if whole:
        size = os.path.getsize(path)
        if size > limits().max_bytes:
            raise InputError(path, over_limit("file size (bytes)", size, "max_bytes"))
    return Path(path)


# ------------------------------------------------------------------------------- outputs
class AtomicOutput:
    """A text file written beside ``target`` and renamed over it only on :meth:`commit`.

    A symbolic link is followed: its target is written, the link stays. An existing file
    keeps its permission bits. Anything at the path that is not a regular file (a folder,
    a device, a FIFO) is refused before the run starts. Every failure is a one-line
    ZooError, and :meth:`discard` (also on any exception in a ``with`` block) removes the
    temporary file.
    """

    def __init__(self, target: str | Path, newline: str | None = None):
        self.requested = Path(target)
        self.target = Path(os.path.realpath(target))
        self.mode: int | None = None
        try:
            info = os.stat(self.target)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ZooError(f"{self.requested}: cannot write the output ({exc.strerror})") from None
        else:
            if not stat.S_ISREG(info.st_mode):
                kind = "a folder" if stat.S_ISDIR(info.st_mode) else next(
                    (k for test, k in _KINDS if test(info.st_mode)), "not a regular file")
                raise ZooError(f"{self.requested}: is {kind}; the output must be a regular "
                               "file (refusing to replace it)")
            self.mode = stat.S_IMODE(info.st_mode)
        folder = self.target.parent
        # SIGTERM/Ctrl-C wait until the temporary file is registered for removal at exit
        with _signals_deferred():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                           dir=folder)
            except OSError as exc:
                raise ZooError(f"{self.requested}: cannot write the output in {folder} "
                               f"({exc.strerror})") from None
            self.tmp: Path | None = Path(tmp)
            _UNFINISHED.add(self.tmp)
        # surrogateescape: a file name that is not UTF-8 is written back as its own bytes
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape",
                                     newline=newline)

    def write(self, text: str) -> None:
        try:
            self.fh.write(text)
        except OSError as exc:
            self.discard()
            raise ZooError(f"{self.requested}: writing the output failed ({exc.strerror})") \
                from None

    def commit(self) -> None:
        """Flush to disk and rename over the target; on failure nothing is left behind."""
        if self.tmp is None:
            return
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.chmod(self.tmp, self.mode if self.mode is not None else 0o666 & ~_umask())
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise ZooError(f"{self.requested}: writing the output failed ({exc.strerror})") \
                from None
        _UNFINISHED.discard(self.tmp)
        self.tmp = None

    def discard(self) -> None:
        """Remove the temporary file; the target stays as it was."""
        if self.tmp is None:
            return
        with contextlib.suppress(OSError):
            self.fh.close()
        self.tmp.unlink(missing_ok=True)
        _UNFINISHED.discard(self.tmp)
        self.tmp = None

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


#: temporary files not yet committed or discarded: removed at exit, whatever ended the run
_UNFINISHED: set[Path] = set()


@atexit.register
def _remove_unfinished() -> None:
    for tmp in list(_UNFINISHED):
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back (in this thread) for the duration of the block."""
    held = {signal.SIGTERM, signal.SIGINT}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # no pthread_sigmask on this platform
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
