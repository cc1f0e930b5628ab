"""A training run folder that one run owns at a time and that survives interruption.

``zoo train --out DIR`` may be killed and started again: the second start resumes from the
Keras checkpoint in ``DIR/checkpoint/``. That is only safe when

- no other run writes into the folder at the same time (an exclusive ``fcntl`` lock on
  ``DIR/.lock``, released and removed when the run ends, however it ends);
- the resumed run has the settings of the interrupted one (``run.json`` records them at the
  start; a resume with another architecture, recipe, data or hyper-parameters is refused);
- the history of both parts is one history: ``history.csv`` keeps exactly the epochs the
  checkpoint holds, so model.json, metrics.json and history.png describe every epoch;
- a finished run (``model.json`` written) is never silently retrained: that takes ``force``.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.io.files import atomic_write_text

LOCK = ".lock"
SETTINGS = "run.json"
HISTORY = "history.csv"
CHECKPOINT = "checkpoint"
#: files a finished run leaves; ``force`` removes them (and nothing else) before retraining
RUN_FILES = ("model.keras", "model.onnx", "model.json", "metrics.json", HISTORY, "history.png",
             SETTINGS)


class RunFolder:
    """Context manager: lock ``path``, check it may be (re)used, and prepare the history.

    ``settings`` is everything that defines the run (task, architecture, recipe, data,
    hyper-parameters); :attr:`initial_epoch` is the epoch a resumed run starts from.
    """

    def __init__(self, path: str | Path, settings: Mapping[str, Any], force: bool = False):
        self.path = Path(path)
        self.settings = json.loads(json.dumps(dict(settings), default=str))
        self.force = force
        self.initial_epoch = 0
        self._lock_fd: int | None = None
        self._created = False

    # ---- locking ----------------------------------------------------------------------------
    def __enter__(self) -> RunFolder:
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._prepare()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: Any) -> None:
        if kind is not None and self._created and not (self.path / CHECKPOINT).exists() \
                and not (self.path / HISTORY).exists():
            # Nothing was trained (bad data, say): leave no folder behind that we created.
            (self.path / SETTINGS).unlink(missing_ok=True)
            self._unlock()
            with contextlib.suppress(OSError):
                self.path.rmdir()
            return
        self._unlock()

    def _lock(self) -> None:
        lock = self.path / LOCK
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise ZooError(f"{self.path}: cannot lock the run folder ({exc.strerror})") from None
                holder = _read_pid(lock)
                raise ZooError(f"{self.path}: another run is writing to this folder"
                               + (f" (pid {holder})" if holder else "")
                               + "; wait for it to end or pass another --out") from None
            # The previous holder may have removed the file between our open and our lock:
            # then we hold a lock on a deleted file and must try again on the new one.
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._lock_fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        (self.path / LOCK).unlink(missing_ok=True)  # while still locked: nobody else has it
        os.close(self._lock_fd)
        self._lock_fd = None

    # ---- reuse rules ------------------------------------------------------------------------
    def _prepare(self) -> None:
        finished = (self.path / "model.json").exists()
        if self.force:
            self._clear()
        elif finished:
            raise ZooError(f"{self.path}: holds a finished run; pass --force to retrain it "
                           "from scratch, or another --out")
        self.initial_epoch = checkpoint_epoch(self.path / CHECKPOINT)
        recorded = self._recorded_settings()
        if self.initial_epoch and recorded is not None and recorded != self.settings:
            changed = sorted(k for k in {*recorded, *self.settings}
                             if recorded.get(k) != self.settings.get(k))
            raise ZooError(f"{self.path}: holds an interrupted run with other settings "
                           f"({', '.join(changed)}); resume it with the same options, "
                           "pass --force to start over, or another --out")
        if not self.initial_epoch:  # a fresh start: no state of an epoch-less attempt survives
            shutil.rmtree(self.path / CHECKPOINT, ignore_errors=True)
        trim_history(self.path / HISTORY, self.initial_epoch)
        atomic_write_text(self.path / SETTINGS, json.dumps(self.settings, indent=2) + "\n")

    def _recorded_settings(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / SETTINGS).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _clear(self) -> None:
        shutil.rmtree(self.path / CHECKPOINT, ignore_errors=True)
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)

    def history(self) -> dict[str, list[float]]:
        """Every epoch's logged values, the interrupted part included (from history.csv)."""
        return read_history(self.path / HISTORY)


def _read_pid(lock: Path) -> str:
    try:
        return lock.read_text().strip()
    except OSError:
        return ""


def checkpoint_epoch(folder: Path) -> int:
    """Epochs completed by the run whose Keras ``BackupAndRestore`` checkpoint is ``folder``."""
    try:
        return int(json.loads((folder / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def trim_history(path: Path, epochs: int) -> None:
    """Keep the rows of the first ``epochs`` epochs: those the checkpoint holds (a row logged
    after the last checkpoint is trained again; a fresh start keeps none)."""
    if not path.exists():
        return
    if epochs == 0:
        path.unlink()
        return
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    kept = [rows[0], *(r for r in rows[1:] if r and int(r[0]) < epochs)] if rows else []
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(kept)
    atomic_write_text(path, text.getvalue())


def read_history(path: Path) -> dict[str, list[float]]:
    """history.csv (Keras' CSVLogger) as ``{metric: [value per epoch]}``."""
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [float(r[k]) if r[k] not in ("", None) else float("nan") for r in rows]
            for k in keys}
