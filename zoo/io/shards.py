"""Sharded prediction output: one file per job of a few hundred samples, written atomically.

A big run writes into one folder::

    part-000000-3f9c0a1b2c4d.parquet     predictions of job 0 (successes)
    errors-000000-3f9c0a1b2c4d.parquet   its failed inputs with their one-line reasons
    summary.json                         counts, failures, the command, the weights' sha256

The second part of a shard's name fingerprints the sample keys of its job, so a rerun of the
same command finds the shards already written and skips them (resume after a crash or a
pre-empted batch job), and a rerun over *other* inputs into the same folder is refused instead
of silently mixing them. A job's errors shard is written before its part shard, and every
file goes through a temporary name and a rename: a part shard on disk means the job is done.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.io.files import atomic_write_bytes

#: shard formats and their file extensions
SHARD_FORMATS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}
SUMMARY = "summary.json"
_NAME = re.compile(r"^(part|errors)-(\d{6,})-([0-9a-f]{12})\.(parquet|csv|jsonl)$")


def fingerprint(keys: Iterable[str]) -> str:
    """12 hex digits of sha256 over a job's sample keys, in order."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(key.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:12]


def shard_name(kind: str, index: int, print_: str, fmt: str) -> str:
    return f"{kind}-{index:06d}-{print_}.{SHARD_FORMATS[fmt]}"


def check_format(fmt: str) -> str:
    if fmt not in SHARD_FORMATS:
        raise ZooError(f"unknown shard format {fmt!r}; valid: {', '.join(SHARD_FORMATS)}")
    return fmt


class ShardFolder:
    """The shards already in an output folder, listed once when a run starts."""

    def __init__(self, folder: str | Path, fmt: str):
        self.folder, self.fmt = Path(folder), check_format(fmt)
        if self.folder.exists() and not self.folder.is_dir():
            raise ZooError(f"{self.folder}: exists and is not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.done: dict[int, str] = {}
        self.errors: dict[int, Path] = {}
        for entry in self.folder.iterdir():
            match = _NAME.match(entry.name)
            if not match or match.group(4) != SHARD_FORMATS[fmt]:
                continue
            kind, index, print_ = match.group(1), int(match.group(2)), match.group(3)
            if kind == "part":
                self.done[index] = print_
            else:
                self.errors[index] = entry

    def is_done(self, index: int, print_: str) -> bool:
        """True when job ``index`` was written for the same inputs; refuses other inputs."""
        existing = self.done.get(index)
        if existing is None:
            return False
        if existing != print_:
            raise ZooError(
                f"{self.folder}: shard {index} holds other inputs than this run's job {index} "
                "(different files, order or --files-per-task); write to a new folder")
        return True

    def failures(self, index: int) -> int:
        """Rows in the errors shard of a finished job (0 when it had none)."""
        path = self.errors.get(index)
        return 0 if path is None else len(read_rows(path))


def prediction_rows(predictions: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Predictions -> (rows of successes, rows of ``key`` + ``error``)."""
    ok: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for pred in predictions:
        (ok if pred.ok else failed).append(pred.to_dict())
    return ok, failed


def write_shard(folder: str | Path, fmt: str, index: int, print_: str,
                predictions: Iterable[Any]) -> tuple[int, list[str]]:
    """Write job ``index``'s errors shard (if any) then its part shard; (ok count, errors)."""
    folder = Path(folder)
    ok, failed = prediction_rows(predictions)
    if failed:
        atomic_write_bytes(folder / shard_name("errors", index, print_, fmt), encode(failed, fmt))
    atomic_write_bytes(folder / shard_name("part", index, print_, fmt), encode(ok, fmt))
    return len(ok), [row["error"] for row in failed]


def encode(rows: list[dict[str, Any]], fmt: str) -> bytes:
    """Rows as a Parquet, CSV or JSON-lines file. Columns are the union over all rows."""
    columns: list[str] = ["key"]
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _flat(v) for k, v in row.items()} for row in rows)
        return out.getvalue().encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [row.get(c) for row in rows] for c in columns}) if rows else \
        pa.table({"key": pa.array([], pa.string())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _flat(value: Any) -> Any:
    """A top-k list as ``label:probability; ...`` in one CSV cell."""
    if isinstance(value, list):
        return "; ".join(f"{t['label']}:{t['probability']:.6g}" if isinstance(t, dict) else str(t)
                         for t in value)
    return value


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of one shard file, whatever its format."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def read_folder(folder: str | Path, kind: str = "part") -> list[dict[str, Any]]:
    """All rows of a run's ``part`` (or ``errors``) shards, in job order."""
    paths = sorted(p for p in Path(folder).iterdir()
                   if (m := _NAME.match(p.name)) is not None and m.group(1) == kind)
    return [row for path in paths for row in read_rows(path)]
