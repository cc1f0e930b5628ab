"""Hostile inputs for the fuzz suite, and the CLI contract they are checked against.

Every bad case is a function ``case(folder) -> Path`` that writes one bad input (or makes a
FIFO, a socket, a link loop...) and returns the path the user would name. The contract
(README "promises"): exactly one ``error: PATH: problem`` line per bad input, every good input
predicted, failed inputs listed in the JSON output too, exit 1 when anything failed, never a
traceback. The CLI runs in a subprocess under a timeout (a hang guard) and an address-space
limit (a memory guard); a hang or a blown limit fails the case.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: the installed CLI (-I: the package on sys.path, not the folder the tests run in)
ZOO = [sys.executable, "-I", "-c", "from zoo.cli.app import main; main()"]
#: hang guard for one CLI run (the runs here take a few seconds)
TIMEOUT_S = 120
#: memory guard: address space of one CLI run (onnxruntime and numpy need ~1.5 GB of it)
ADDRESS_SPACE = 4 << 30
IS_ROOT = os.geteuid() == 0

#: writes one bad input; returns its path, or (the path to name, the path reported)
Case = Callable[[Path], "Path | tuple[Path, Path]"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]

    def lines_naming(self, path: str | Path) -> list[str]:
        """Error lines naming ``path`` as the terminal shows it (control characters escaped)."""
        from zoo.cli.common import printable

        shown = printable(str(path))
        return [line for line in self.error_lines if line.startswith(f"error: {shown}")]


def quiet_env(home: Path | None = None) -> dict[str, str]:
    """The CLI's environment for fuzz runs. No bytecode is written: a run under a file-size or
    memory limit could otherwise leave a truncated ``.pyc`` that breaks every later import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_MAX_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", COLUMNS="200", NO_COLOR="1", PYTHONWARNINGS="",
               PYTHONDONTWRITEBYTECODE="1")
    if home is not None:
        env["HOME"] = str(home)
    return env


def interruptible() -> None:
    """In a child before exec: Ctrl-C as at a terminal. A background job of a non-interactive
    shell (``pytest ... &`` in a CI script) inherits SIGINT ignored, and Python keeps ignoring
    it in every process it starts - as it should for a user's ``zoo predict ... &``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def zoo(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None, user: int | None = None) -> Run:
    """Run the real CLI in a subprocess, under the hang and memory guards."""
    def setup() -> None:
        _limits()
        if preexec is not None:
            preexec()

    done = subprocess.run([*ZOO, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env or quiet_env(), timeout=TIMEOUT_S, preexec_fn=setup,
                          user=user, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


def cli(*args: str | Path) -> Run:
    """Run the CLI in this process (fast): for cases that cannot hang or need no signals."""
    from typer.testing import CliRunner

    from zoo.cli.app import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an escaped exception is a traceback for the user
    return Run(result.exit_code, result.stdout, result.stderr)


def json_rows(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def assert_contract(run: Run, bad: list[Path], good: list[str], rows: list[dict] | None) -> None:
    """One line per bad input naming it, good inputs predicted, exit code, no traceback."""
    everything = run.stdout + run.stderr
    assert "Traceback" not in everything, everything[-3000:]
    assert run.returncode == (1 if bad else 0), everything[-3000:]
    for path in bad:
        assert len(run.lines_naming(path)) == 1, (path, run.error_lines)
    assert len(run.error_lines) == len(bad), run.error_lines
    if rows is not None:
        keys = [r["key"] for r in rows]
        for key in good:
            hits = [r for r in rows if r["key"] == key or r["key"].startswith(f"{key}#")]
            assert hits and all("error" not in r for r in hits), (key, keys)
        for path in bad:
            assert any(r["key"] == str(path) and "error" in r for r in rows), (path, keys)


# ---- inputs every reader must refuse without opening or decoding ---------------------------
def missing(folder: Path) -> Path:
    return folder / "missing.dat"


def empty_file(folder: Path, suffix: str = ".dat") -> Path:
    path = folder / f"empty{suffix}"
    path.write_bytes(b"")
    return path


def fifo(folder: Path, suffix: str = ".dat") -> Path:
    path = folder / f"pipe{suffix}"
    os.mkfifo(path)
    return path


def unix_socket(folder: Path, suffix: str = ".dat") -> Path:
    path = folder / f"sock{suffix}"
    # AF_UNIX paths are short: bind in the folder itself by a relative name
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path.name)
        sock.close()
    finally:
        os.chdir(cwd)
    return path


def char_device(folder: Path, suffix: str = ".dat") -> Path:
    """A copy of /dev/zero's node (root only): reading it would never end."""
    path = folder / f"zero{suffix}"
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    return path


def link_loop_self(folder: Path) -> tuple[Path, Path]:
    """A folder holding ``self -> .``: the folder is named, the link is reported."""
    sub = folder / "loopdir"
    sub.mkdir()
    (sub / "self").symlink_to(".")
    return sub, sub / "self"


def link_loop_pair(folder: Path, suffix: str = ".dat") -> Path:
    a, b = folder / f"a{suffix}", folder / f"b{suffix}"
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    return a


def broken_link(folder: Path, suffix: str = ".dat") -> Path:
    path = folder / f"dangling{suffix}"
    path.symlink_to("nowhere-at-all")
    return path


def empty_folder(folder: Path) -> Path:
    path = folder / "nothing-here"
    path.mkdir()
    return path


def glob_no_match(folder: Path) -> Path:
    return folder / "no-such-*.xyz"


def text_file(folder: Path, suffix: str) -> Path:
    path = folder / f"notes{suffix}"
    path.write_text("this is not what the reader expects\n")
    return path


def truncated(source: Path, folder: Path, name: str) -> Path:
    path = folder / name
    raw = source.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def control_chars_in_name(folder: Path, suffix: str = ".dat") -> Path:
    """A bad file whose name holds a newline and an ANSI escape: its error is still one line."""
    path = folder / f"bad\nline\x1b[31m{suffix}"
    path.write_text("not what the reader expects")
    return path


def generic_cases(suffix: str) -> dict[str, Case]:
    """The path-level cases, named with the task's own file suffix."""
    cases: dict[str, Case] = {
        "missing": missing,
        "empty-file": lambda f: empty_file(f, suffix),
        "fifo": lambda f: fifo(f, suffix),
        "socket": lambda f: unix_socket(f, suffix),
        "symlink-loop-self": link_loop_self,
        "symlink-loop-pair": lambda f: link_loop_pair(f, suffix),
        "broken-symlink": lambda f: broken_link(f, suffix),
        "empty-folder": empty_folder,
        "glob-no-match": glob_no_match,
        "text-as-file": lambda f: text_file(f, suffix),
        "control-chars-in-name": lambda f: control_chars_in_name(f, suffix),
    }
    if IS_ROOT:
        cases["char-device"] = lambda f: char_device(f, suffix)
    return cases


# ---- images -------------------------------------------------------------------------------
def png_with_size(folder: Path, name: str, width: int, height: int) -> Path:
    """A valid PNG header declaring width x height with a tiny (wrong) body: no decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 64)
    path = folder / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def gray_image(folder: Path, name: str, size: tuple[int, int], fmt: str | None = None) -> Path:
    path = folder / name
    Image.new("L", size).save(path, format=fmt)
    return path


# ---- npz / hdf5 ---------------------------------------------------------------------------
def npz_declaring(folder: Path, name: str, field: str, shape: tuple[int, ...]) -> Path:
    """An .npz whose member declares ``shape`` float32 but holds no data (a zip bomb's header)."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": shape})
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{field}.npy", header.getvalue())
    return path


def npz_object_array(folder: Path, name: str, field: str = "images") -> Path:
    path = folder / name
    np.savez(path, **{field: np.array([{"evil": 1}, None], dtype=object)})
    return path
