"""Where ``zoo predict`` results go: the terminal or ``-o FILE``, as a table, JSON or CSV.

Rows stream as they come, failed inputs included (a row with the error), so memory does not
grow with the number of files - except the table, whose column widths need its rows: it holds
at most :data:`TABLE_ROWS` rows and beyond that prints a compact aligned form line by line.
The CSV header is known before the first row (:func:`csv_columns`), so failed rows are written
as they come, not held until a first success.
``-o`` goes through :class:`zoo.io.files.AtomicOutput`: the file is replaced only when at least
one input was predicted, so a failed or empty run never replaces an existing output.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import IO, Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoo.cli.common import printable
from zoo.io.files import AtomicOutput
from zoo.predictor import Prediction

#: rows a Rich table may hold; larger runs switch to the compact streamed form
TABLE_ROWS = 1000


def flat_row(pred: Prediction, verbose: bool) -> dict[str, Any]:
    row = pred.to_dict()
    if len(row.get("top", [])) == 1:
        del row["top"]  # the label and probability already say it
    if "top" in row:
        row["top"] = "; ".join(f"{t['label']}:{t['probability']:.4f}" for t in row["top"])
    if not verbose:  # reader notes and weights only on request; warnings ("note") always
        row.pop("weights", None)
        for key in pred.notes:
            if key != "note":
                row.pop(key, None)
    return row


def csv_columns(result_keys: list[str], top_k: int = 1) -> list[str]:
    """The CSV header: the key, a result's fields (:meth:`Predictor.result_keys`), the
    reader's notes in one column (which notes a file gets is known only once it is read),
    the weights and the error."""
    fields = [k for k in result_keys if k != "top" or top_k > 1]
    return ["key", *fields, "notes", "weights", "error"]


def csv_row(pred: Prediction) -> dict[str, Any]:
    """One CSV row: :func:`flat_row` with every note as ``name=value`` in ``notes``."""
    row = flat_row(pred, verbose=False)
    row.pop("note", None)
    if pred.ok:
        row["notes"] = "; ".join(f"{k}={v}" for k, v in pred.notes.items())
        row["weights"] = pred.weights
    return row


def checked(pred: Prediction) -> Prediction:
    """The prediction, or a failed one when the model's output is NaN or infinite."""
    if pred.ok and not _finite(pred.result):
        return Prediction(pred.key, error=f"{pred.key}: the model's output is NaN or infinite",
                          weights=pred.weights)
    return pred


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


class Sink:
    """Writes predictions as they stream; :meth:`close` finishes, :meth:`abort` discards."""

    def __init__(self, fmt: str, output: Path | None, verbose: bool,
                 console: Console | None = None, columns: list[str] | None = None):
        """``fmt``: "table", "json" or "csv"; ``columns``: the CSV header (:func:`csv_columns`)."""
        self.fmt, self.verbose = fmt, verbose
        self.console = console or Console()
        self.ok = self.failed = 0
        self.file = AtomicOutput(output, newline="") if output is not None else None
        self.fh: IO[str] = self.file.fh if self.file is not None else sys.stdout
        self.rows: list[dict[str, Any]] = []  # table rows
        self.columns: list[str] | None = None
        self.writer: Any = None
        if fmt == "csv":
            self.writer = csv.DictWriter(_Writes(self), fieldnames=columns or ["key", "error"],
                                         extrasaction="ignore")
            self.writer.writeheader()
        self.compact_widths: list[int] | None = None

    # ---- rows ----------------------------------------------------------------------------
    def add(self, pred: Prediction) -> None:
        if pred.ok:
            self.ok += 1
        else:
            self.failed += 1
        if self.fmt == "json":
            row = pred.to_dict()
            first = self.ok + self.failed == 1
            self._write(("[\n  " if first else ",\n  ") + json.dumps(row, default=str))
        elif self.fmt == "csv":
            self.writer.writerow(csv_row(pred))
        elif pred.ok:  # the table: failures are on stderr, one line each
            self._add_table(flat_row(pred, self.verbose))

    def _add_table(self, row: dict[str, Any]) -> None:
        if self.compact_widths is None:
            self.rows.append(row)
            if len(self.rows) > TABLE_ROWS:
                self._start_compact()
        else:
            self._write_compact(row)

    def _start_compact(self) -> None:
        self.columns = _columns(self.rows)
        self.compact_widths = [max(len(c), *(len(_cell(r.get(c, ""))) for r in self.rows))
                               for c in self.columns]
        self._write("  ".join(c.ljust(w) for c, w in zip(self.columns, self.compact_widths,
                                                         strict=True)).rstrip() + "\n")
        for row in self.rows:
            self._write_compact(row)
        self.rows = []

    def _write_compact(self, row: dict[str, Any]) -> None:
        assert self.columns is not None and self.compact_widths is not None
        cells = [_cell(row.get(c, "")).ljust(w)
                 for c, w in zip(self.columns, self.compact_widths, strict=True)]
        self._write("  ".join(cells).rstrip() + "\n")

    def _write(self, text: str) -> None:
        if self.file is not None:
            self.file.write(text)
            return
        try:
            self.fh.write(text)
        except UnicodeEncodeError:  # a file name that is not UTF-8, on a strict terminal
            self.fh.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))

    # ---- end -----------------------------------------------------------------------------
    def close(self) -> bool:
        """Finish the output; False when ``-o`` was kept because nothing was predicted."""
        if self.file is not None and self.ok == 0:
            self.file.discard()
            return False
        if self.fmt == "json":
            self._write("\n]\n" if self.ok + self.failed else "[]\n")
        elif self.fmt == "table" and self.compact_widths is None and self.rows:
            table = self.table()
            if self.file is not None:  # through _Writes: a failed write is one line
                Console(file=cast(IO[str], _Writes(self)), width=200).print(table)
            else:
                self.console.print(table)
        if self.file is not None:
            self.file.commit()
        else:
            self.fh.flush()
        return True

    def abort(self) -> None:
        if self.file is not None:
            self.file.discard()

    def table(self) -> Table:
        table = Table(show_lines=False, header_style="bold")
        columns = _columns(self.rows)
        for col in columns:
            numeric = any(isinstance(row.get(col), (int, float)) for row in self.rows)
            table.add_column(Text(col), overflow="fold", justify="right" if numeric else "left")
        for row in self.rows:
            # Text, not markup: a file named "[red]x.png" must print as it is
            table.add_row(*(Text(_cell(row.get(c, ""))) for c in columns))
        return table


class _Writes:
    """The file csv.writer and Rich need, routed through the sink (atomic file or stdout)."""

    def __init__(self, sink: Sink):
        self.sink = sink

    def write(self, text: str) -> None:
        self.sink._write(text)

    def flush(self) -> None:
        """Nothing to do: the atomic file is flushed once, on commit."""


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns


def _cell(value: Any) -> str:
    """A table cell: floats to 4 digits; one line, control characters shown escaped as in
    error lines (a file name holding a newline or an escape sequence can neither break the
    row nor drive the terminal)."""
    if isinstance(value, float):
        return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.4g}"
    return printable(str(value))
