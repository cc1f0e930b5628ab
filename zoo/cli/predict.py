"""``zoo predict TASK FILES...``: classify files, directories and globs with onnxruntime."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from zoo.cli.common import console, err_console, fail, friendly_errors, typed_options

from zoo.errors import ZooError
from zoo.predictor import Prediction, Predictor
from zoo.registry import get_task


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


def split_task_options(items: list[str], allowed: dict[str, type],
                       task: str) -> tuple[list[str], dict[str, Any]]:
    """Separate task options such as ``--z 0.3`` from the file arguments."""
    files: list[str] = []
    extra: dict[str, str] = {}
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--") and not Path(item).exists():
            key = item[2:]
            if "=" in key:
                key, value = key.split("=", 1)
            elif i + 1 < len(items):
                i += 1
                value = items[i]
            else:
                raise ZooError(f"option {item} needs a value")
            extra[key.replace("-", "_")] = value
        else:
            files.append(item)
        i += 1
    return files, typed_options(extra, allowed, f"zoo predict {task}")


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


class Sink:
    """Writes predictions as they stream: a Rich table at the end, or JSON/CSV atomically."""

    def __init__(self, fmt: OutputFormat, output: Path | None, verbose: bool, top_k: int):
        self.fmt, self.output, self.verbose, self.top_k = fmt, output, verbose, top_k
        self.rows: list[Prediction] = []
        self.count = 0
        self.tmp: Path | None = None
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
            self.fh: Any = open(self.tmp, "w", newline="")  # noqa: SIM115 (closed in close/abort)
        else:
            self.fh = io.StringIO() if fmt != OutputFormat.table else None
        self.writer: Any = None

    def add(self, pred: Prediction) -> None:
        if not pred.ok:
            return
        self.count += 1
        if self.fmt == OutputFormat.table:
            self.rows.append(pred)
        elif self.fmt == OutputFormat.json:
            self.fh.write(("[\n  " if self.count == 1 else ",\n  ") + json.dumps(pred.to_dict()))
        else:
            row = flat_row(pred, True)
            if self.writer is None:
                self.writer = csv.DictWriter(self.fh, fieldnames=list(row), extrasaction="ignore")
                self.writer.writeheader()
            self.writer.writerow(row)

    def close(self) -> None:
        if self.fmt == OutputFormat.json:
            self.fh.write("\n]\n" if self.count else "[]\n")
        if self.fmt == OutputFormat.table:
            table_out = self.table()
            if self.output is not None:
                with Path(self.tmp).open("w") as fh:  # type: ignore[arg-type]
                    from rich.console import Console

                    Console(file=fh, width=200).print(table_out)
            elif self.rows:  # nothing succeeded: the error lines say it all
                console.print(table_out)
        if self.output is not None:
            self.fh.close()
            os.replace(self.tmp, self.output)  # type: ignore[arg-type]
        elif self.fh is not None:
            sys.stdout.write(self.fh.getvalue())

    def abort(self) -> None:
        if self.tmp is not None:
            self.fh.close()
            self.tmp.unlink(missing_ok=True)

    def table(self) -> Table:
        table = Table(show_lines=False, header_style="bold")
        rows = [flat_row(p, self.verbose) for p in self.rows]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        for col in columns:
            numeric = any(isinstance(row.get(col), (int, float)) for row in rows)
            table.add_column(col, overflow="fold", justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*(_fmt(row.get(c, "")) for c in columns))
        return table


def _fmt(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.4g}"


@friendly_errors
def predict(
    task: str = typer.Argument(..., help="Task name, e.g. digits or glitch (see `zoo list`)."),
    items: list[str] = typer.Argument(..., help="Files, dirs or globs; task options (--z 0.3) may follow."),
    arch: str | None = typer.Option(None, "--arch", help="Architecture whose shipped weights to use."),
    weights: str = typer.Option("default", "--weights", "-w", help="Shipped name, .onnx file or run folder."),
    top_k: int = typer.Option(1, "--top-k", "-k", min=1, help="How many classes to report per sample."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write results here (atomically)."),
    device: Device = typer.Option(Device.auto, "--device", help="auto: CUDA when onnxruntime-gpu has it."),
    workers: int | None = typer.Option(None, "--workers", help="File-decoding threads."),
    fp16: bool = typer.Option(False, "--fp16", help="On CUDA, run a float16 copy of the model."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show weights and input notes."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Default: on for terminals."),
) -> None:
    """Classify (or regress) files with shipped or trained weights through onnxruntime."""
    spec = get_task(task)
    files, options = split_task_options(items, spec.predict_options, task)
    if not files:
        fail("no input files given")
    predictor = Predictor(spec, weights, arch, device.value, fp16=fp16)
    if verbose:
        err_console.print(f"weights: {predictor.model.meta.name} ({predictor.model.ref.onnx}), "
                          f"providers: {', '.join(predictor.model.providers)}")
    sink = Sink(fmt, output, verbose, top_k)
    failed = 0
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(SpinnerColumn(), TextColumn("{task.completed} samples"), BarColumn(),
                   TimeElapsedColumn(), console=err_console, transient=True, disable=not show)
    try:
        with bar:
            counter = bar.add_task("predict", total=None)
            for pred in predictor.iter_predict(files, top_k, batch_size, workers, **options):
                if not pred.ok:
                    failed += 1
                    err_console.print(f"[red]error:[/] {pred.error}", highlight=False, soft_wrap=True)
                sink.add(pred)
                bar.advance(counter)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    if failed:
        err_console.print(f"{failed} of {failed + sink.count} samples failed")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("predict", context_settings={"ignore_unknown_options": True})(predict)
