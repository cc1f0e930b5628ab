"""``zoo predict TASK FILES...``: classify files, directories and globs with onnxruntime."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from enum import Enum
from itertools import chain
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from zoo.cli.common import (
    WEIGHTS_HELP,
    command_flags,
    err_console,
    fail,
    friendly_errors,
    one_line,
    typed_options,
)
from zoo.cli.output import Sink, checked, csv_columns
from zoo.dask_engine import cluster_client
from zoo.dask_engine import iter_predict as dask_predict
from zoo.errors import ZooError
from zoo.io.files import GLOB_CHARS, check_input_name
from zoo.io.limits import set_limits
from zoo.io.manifest import count_manifest, read_manifest
from zoo.io.shards import SUMMARY
from zoo.jobs import FILES_PER_JOB, JobSettings, predict_to_folder
from zoo.ood import refuse_flagged
from zoo.predictor import Predictor
from zoo.readers import PROCESS_MIN_SAMPLES
from zoo.registry import get_task


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


class Engine(str, Enum):
    local = "local"
    dask = "dask"


#: ``-o DIR/`` shard formats by --format (table, the default, means Parquet there)
SHARD_FORMAT = {"table": "parquet", "parquet": "parquet", "json": "jsonl", "csv": "csv"}


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
            elif key.replace("-", "_") in allowed:
                raise ZooError(f"option {item} needs a value")
            else:  # a mistyped flag last on the line (--stict): the name check below says so
                value = ""
            extra[key.replace("-", "_")] = value
        else:
            files.append(check_input_name(item))
        i += 1
    return files, typed_options(extra, allowed, f"zoo predict {task}", command_flags(predict))


@friendly_errors
def predict(
    task: str = typer.Argument(..., help="Task name, e.g. digits or glitch (see `zoo list`)."),
    items: list[str] = typer.Argument(None, help="Files, dirs or globs; task options (--z 0.3) may follow."),
    arch: str | None = typer.Option(None, "--arch", help="Architecture whose shipped weights to use."),
    weights: str = typer.Option("default", "--weights", "-w",
                                help=WEIGHTS_HELP),
    top_k: int = typer.Option(1, "--top-k", "-k", min=1, help="How many classes to report per sample."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f",
                                     help="table, json or csv; for -o DIR/: parquet, csv or json lines."),
    output: str | None = typer.Option(None, "--output", "-o",
                                      help="Write here (atomically); DIR/: a shard per job, resumable."),
    device: Device = typer.Option(Device.auto, "--device", help="auto: CUDA when onnxruntime-gpu has it."),
    workers: int | None = typer.Option(
        None, "--workers", min=1,
        help="local: file-reading processes (default: one per core; threads for runs under "
             f"{PROCESS_MIN_SAMPLES} files); dask: local worker processes."),
    engine: Engine = typer.Option(Engine.local, "--engine",
                                  help="local (this machine) or dask (a cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (--engine dask)."),
    manifest: Path | None = typer.Option(None, "--manifest", help="Text file of input paths, one a line."),
    files_per_job: int = typer.Option(FILES_PER_JOB, "--files-per-job", min=1,
                                      help="Samples per job (and per shard of -o DIR/)."),
    fp16: bool = typer.Option(False, "--fp16", help="On CUDA, run a float16 copy of the model."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show weights and input notes."),
    strict: bool = typer.Option(False, "--strict",
                                help="Inputs flagged out of distribution (ood_flag) are errors."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Default: on for terminals."),
    max_pixels: int | None = typer.Option(None, "--max-pixels", min=1,
                                          help="Largest image (pixels, or FITS values) to decode."),
    max_bytes: int | None = typer.Option(None, "--max-bytes", min=1,
                                         help="Largest file or array read whole into memory."),
    max_samples: int | None = typer.Option(None, "--max-samples", min=1,
                                           help="Most samples (jets) one file may declare."),
) -> None:
    """Classify (or regress) files with shipped or trained weights through onnxruntime.

    Inputs over the limits (defaults in the README; also ZOO_MAX_PIXELS, ZOO_MAX_BYTES,
    ZOO_MAX_SAMPLES) fail with one line each, checked from headers before decoding.
    """
    set_limits(max_pixels=max_pixels, max_bytes=max_bytes, max_samples=max_samples)
    spec = get_task(task)
    files, options = split_task_options(items or [], spec.predict_options, task)
    if not files and manifest is None:
        fail("no input files given")
    if scheduler and engine != Engine.dask:
        fail("--scheduler needs --engine dask")
    if scheduler and workers:
        fail("--workers starts a local cluster; with --scheduler the cluster's own workers run")
    if output is not None and not output.strip():
        fail("-o/--output: an empty path ('') names no file")
    if output is not None and os.path.realpath(output) in {os.path.realpath(f) for f in files}:
        fail(f"-o {output} is one of the inputs; refusing to overwrite it")
    folder = output is not None and (output.endswith(("/", os.sep)) or Path(output).is_dir())
    if strict and folder:
        fail("--strict works on streamed output; with -o DIR/ filter the shards on ood_flag")
    if fmt == OutputFormat.parquet and not folder:
        fail("--format parquet writes one shard per job: give a folder, -o DIR/")
    inputs: Iterable[str] = chain(files, read_manifest(manifest)) if manifest else files
    total = len(files) + count_manifest(manifest) \
        if manifest and not any(Path(f).is_dir() or GLOB_CHARS & set(f) for f in files) else None
    predictor = Predictor(spec, weights, arch, device.value, fp16=fp16)
    if verbose:
        err_console.print(f"weights: {predictor.model.meta.name} ({predictor.model.ref.onnx}), "
                          f"providers: {', '.join(predictor.model.providers)}")
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(SpinnerColumn(), MofNCompleteColumn() if total else TextColumn("{task.completed}"),
                   TextColumn("files, {task.fields[failed]} failed"), BarColumn(), RateColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
                   disable=not show)
    with ExitStack() as stack:
        client = stack.enter_context(cluster_client(None, scheduler, workers)) \
            if engine == Engine.dask else None
        if folder:
            settings = JobSettings(top_k, batch_size, 2 if client else workers, options)
            with bar:
                counter = bar.add_task("predict", total=total, failed=0)
                summary = predict_to_folder(
                    predictor, inputs, output, SHARD_FORMAT[fmt.value],  # type: ignore[arg-type]
                    engine=engine.value, client=client, files_per_job=files_per_job,
                    settings=settings, on_error=print_error,
                    on_job=lambda n, bad: bar.update(counter, advance=n,
                                                     failed=bar.tasks[0].fields["failed"] + bad))
            err_console.print(f"{summary.ok} predicted, {summary.failed} failed; "
                              f"{summary.skipped_jobs} of {summary.jobs} jobs were already written; "
                              f"summary in {Path(output) / SUMMARY}")  # type: ignore[arg-type]
            if summary.failed:
                raise typer.Exit(1)
            return
        stream = dask_predict(predictor, inputs, client=client, top_k=top_k, batch_size=batch_size,
                              files_per_job=files_per_job, **options) if client else \
            predictor.iter_predict(inputs, top_k, batch_size, workers, **options)
        columns = csv_columns(predictor.result_keys(top_k), top_k) \
            if fmt == OutputFormat.csv else None
        sink = Sink(fmt.value, Path(output) if output else None, verbose, columns=columns)
        failed = 0
        try:
            with bar:
                counter = bar.add_task("predict", total=total, failed=0)
                checked_stream = map(checked, stream)
                for pred in map(refuse_flagged, checked_stream) if strict else checked_stream:
                    if not pred.ok:
                        failed += 1
                        print_error(pred.error or "")
                    sink.add(pred)
                    bar.update(counter, advance=1, failed=failed)
        except BaseException:
            sink.abort()
            raise
        written = sink.close()
    if not failed and not sink.ok:
        fail("no input: " + ", ".join(files or [str(manifest)]) + " named no files")
    if failed:
        kept = "" if written or output is None else f"; {output} left as it was"
        err_console.print(one_line(f"{failed} of {failed + sink.ok} samples failed{kept}"),
                          highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def print_error(line: str) -> None:
    err_console.print(f"[red]error:[/] {one_line(line)}", highlight=False, soft_wrap=True)


class RateColumn(ProgressColumn):
    """Files per second over Rich's recent window (the whole cluster's rate)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def register(app: typer.Typer) -> None:
    app.command("predict", context_settings={"ignore_unknown_options": True})(predict)
