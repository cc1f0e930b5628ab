"""Native log lines of TensorFlow, absl and CUDA kept off a user's terminal.

TensorFlow 2.21 writes its start-up lines ("oneDNN custom operations are on", "Could not
find cuda drivers") from C++ straight to file descriptor 2, before absl's logging exists and
whatever ``TF_CPP_MIN_LOG_LEVEL`` says. No Python logger or warning filter reaches them. So
while a command runs, descriptor 2 is a pipe read by a thread that drops lines in absl/glog
format (``I0000 00:00:... file.cc:12] ...``) and absl's pre-init notice, and forwards every
other byte at once (Rich's live progress bar included). Error-level native lines are held
back and shown only if the command fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

NATIVE_LINE = re.compile(rb"^[IWEF]\d{4} [\d:.]+\s+\d+ [^\]\n]+\] ")
PRE_INIT_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called"
#: a line that might be a native one is held until its newline, up to this many bytes
LONGEST_HELD = 8192


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[list[bytes]]:
    """Filter descriptor 2 while the block runs; yields the held error-level native lines."""
    held: list[bytes] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to filter
        yield held
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, saved, held), daemon=True,
                            name="zoo-native-logs")
    pump.start()
    try:
        yield held
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer closes: the pump reads its end
        pump.join(timeout=1)
        if not pump.is_alive():  # a child process may still hold the pipe
            os.close(saved)


def _pump(read_end: int, out: int, held: list[bytes]) -> None:
    pending = b""
    at_line_start = True
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        pending, at_line_start = _sift(pending + chunk, at_line_start, out, held)
    if pending and not _is_native(pending, held):
        os.write(out, pending)
    os.close(read_end)


def _sift(data: bytes, at_line_start: bool, out: int, held: list[bytes]) -> tuple[bytes, bool]:
    """Forward what is not a native log line; return the bytes still undecided."""
    while data:
        newline = data.find(b"\n")
        if at_line_start and data[:1] in (b"I", b"W", b"E", b"F"):
            if newline < 0:
                if len(data) < LONGEST_HELD:
                    return data, True  # wait for the rest of the line
                os.write(out, data)
                return b"", False
            line, data = data[:newline + 1], data[newline + 1:]
            if not _is_native(line, held):
                os.write(out, line)
            continue
        if newline < 0:
            os.write(out, data)
            return b"", False
        os.write(out, data[:newline + 1])
        data, at_line_start = data[newline + 1:], True
    return b"", at_line_start


def _is_native(line: bytes, held: list[bytes]) -> bool:
    if line.startswith(PRE_INIT_NOTICE):
        return True
    if NATIVE_LINE.match(line):
        if line[:1] in (b"E", b"F"):
            held.append(line)
        return True
    return False
