"""``zoo bench TASK``: onnxruntime fp32/int8 and Keras side by side; ``--files`` for raw files.

Array mode times the same weights and inputs through onnxruntime fp32, onnxruntime int8
(static quantization calibrated on the task's own training samples), Keras ``predict`` and
the Keras direct call, interleaved, with achieved GFLOP/s against this machine's measured
float32 matmul peak and the int8 model's accuracy on held-out data beside its speed.

File mode (``--files DIR``) times raw files -> labels through ``zoo predict``'s streaming
path against the one-file-at-a-time pipeline of published code (the task's
``reference_read`` when it declares one, else its own reader, then Keras ``predict`` per
sample), and checks that both give the same labels. The measuring is :func:`zoo.bench`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from zoo.cli.common import WEIGHTS_HELP, console, friendly_errors, one_of, parse_batch_sizes
from zoo.io.files import atomic_write_text


@friendly_errors
def bench(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    weights: str = typer.Option("default", "--weights", "-w",
                                help=WEIGHTS_HELP),
    arch: str | None = typer.Option(None, "--arch"),
    batch_sizes: str = typer.Option("1,8,64,256", "--batch-sizes"),
    min_time: float = typer.Option(1.0, "--min-time", min=0.001,
                                   help="Seconds measured per runtime and batch size."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="Interleaved rounds over all runtimes."),
    keras: bool = typer.Option(True, "--keras/--no-keras", help="Also time Keras when installed."),
    int8: bool = typer.Option(True, "--int8/--no-int8", help="Also time a static int8 model."),
    int8_format: str = typer.Option("qoperator", "--int8-format", help="qoperator or qdq.",
                                    callback=one_of("qoperator", "qdq")),
    calibration: int = typer.Option(300, "--calibration-samples", min=1,
                                    help="Training samples that calibrate int8 ranges."),
    device: str = typer.Option("auto", "--device", callback=one_of("auto", "cpu", "gpu")),
    threads: int | None = typer.Option(None, "--threads", min=1, help="onnxruntime intra-op threads."),
    files: Path | None = typer.Option(None, "--files", help="Time raw files -> labels instead."),
    limit: int = typer.Option(400, "--limit", min=1, help="At most this many files with --files."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Alternated passes with --files (best counts)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Batch size of the --files path."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the record to this JSON file."),
) -> None:
    """Measure throughput of the same weights through onnxruntime and Keras."""
    from zoo.cli.common import command_flags, parse_extra, typed_options
    from zoo.registry import get_task
    from zoo.throughput import bench as run_bench

    options = typed_options(parse_extra(ctx.args), get_task(task).predict_options,
                            f"zoo bench {task}", command_flags(bench))
    sizes = parse_batch_sizes(batch_sizes)
    record = run_bench(task, weights, arch=arch, batch_sizes=sizes, min_time=min_time,
                       rounds=rounds, keras=keras, int8=int8, int8_format=int8_format,
                       calibration=calibration, device=device, threads=threads, files=files,
                       limit=limit, repeats=repeats, batch_size=batch_size, options=options)
    if files is not None:
        print_files_table(record)
    else:
        print_table(record)
    if json_out:
        atomic_write_text(json_out, json.dumps(record, indent=2) + "\n")
        console.print(f"wrote {json_out}", markup=False)


def print_table(record: dict[str, Any]) -> None:
    """One row per (runtime, batch size); the matmul peak, int8 accuracy and notes below."""
    from zoo.throughput import FP32, PEAK_SIZE, loss_text

    ratio = record["speedup_vs_keras_predict"]
    title = (f"{record['task']} / {record['weights']}: "
             f"{record['flops_per_sample'] / 1e6:,.0f} MFLOP per sample on {record['processor']}")
    table = Table(title=title, header_style="bold")
    table.add_column("runtime", no_wrap=True)
    for col in ("batch", "images/s", "p50 ms", "p99 ms", "GFLOP/s", "of peak", "x predict"):
        table.add_column(col, justify="right")
    for r in record["rows"]:
        x = ratio.get(f"{r['runtime']}@{r['batch_size']}")
        table.add_row(r["runtime"], str(r["batch_size"]), f"{r['images_per_s']:,.0f}",
                      f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                      f"{r['gflops']:.1f}" if r["gflops"] else "-",
                      f"{r['peak_fraction']:.0%}" if r["peak_fraction"] else "-", _times(x))
    console.print(table)
    if record["peak_gflops"] and any(r["runtime"] == FP32 for r in record["rows"]):
        sources = ", ".join(f"{k} {v:.0f}" for k, v in record["peak_by_source"].items())
        console.print(f"float32 matmul peak ({PEAK_SIZE}x{PEAK_SIZE}, best call, same rounds): "
                      f"{record['peak_gflops']:.0f} GFLOP/s ({sources}); GFLOP/s and 'of peak' "
                      "use each runtime's best batch; images/s and x predict its median batch")
    accuracy = record["int8_accuracy"]
    if accuracy:
        console.print(f"int8 on held-out data ({accuracy['n']} samples): {accuracy['metric']} "
                      f"{accuracy['int8']:.4f} vs fp32 {accuracy['fp32']:.4f} "
                      f"({loss_text(accuracy)})" + (
                          f", same label on {accuracy['label_agreement']:.1%}"
                          if "label_agreement" in accuracy else ""))
    for note in record["notes"]:
        console.print(note, markup=False)


def print_files_table(record: dict[str, Any]) -> None:
    """zoo's streaming path against one file at a time, best pass of each."""
    table = Table(title=f"{record['task']}: {record['files']} files from {record['folder']} "
                        "-> labels", header_style="bold")
    table.add_column("pipeline")
    for col in ("files", "seconds", "files/s", "speed-up"):
        table.add_column(col, justify="right")
    ours, ref = record["best"]
    for run in (ours, ref):
        table.add_row(run["name"], str(run["files"]), f"{run['seconds']:.2f}",
                      f"{run['files_per_s']:,.1f}", f"{run['files_per_s'] / ref['files_per_s']:.2f}x")
    console.print(table)
    console.print(f"identical labels: {record['identical_labels']}/{record['compared']}; errors: "
                  f"zoo {ours['errors']}, reference {ref['errors']}; Keras model: "
                  f"{record['keras_model']}", markup=False)


def _times(x: float | None) -> str:
    if not x:
        return "-"
    return f"{x:.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def register(app: typer.Typer) -> None:
    from zoo.cli.common import EXTRA_ARGS

    app.command("bench", context_settings=EXTRA_ARGS)(bench)
