"""``zoo bench TASK``: images/s and latency for onnxruntime and Keras, side by side."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import typer
from rich.table import Table
from zoo.cli.common import console, friendly_errors, parse_batch_sizes

from zoo.registry import get_task


@friendly_errors
def bench(
    task: str = typer.Argument(...),
    weights: str = typer.Option("default", "--weights", "-w"),
    arch: str | None = typer.Option(None, "--arch"),
    batch_sizes: str = typer.Option("1,32,256", "--batch-sizes"),
    min_time: float = typer.Option(1.0, "--min-time", help="Seconds measured per runtime and batch size."),
    keras: bool = typer.Option(True, "--keras/--no-keras", help="Also time Keras when installed."),
    device: str = typer.Option("auto", "--device"),
    json_out: Path | None = typer.Option(None, "--json", help="Write the rows to this JSON file."),
) -> None:
    """Measure throughput of the same weights through onnxruntime and Keras."""
    from zoo.bench import keras_runners, measure, onnx_runner, speedups
    from zoo.weights import resolve

    spec = get_task(task)
    sizes = parse_batch_sizes(batch_sizes)
    ref = resolve(task, weights, arch, spec.default_weights)
    ref.verify()
    rows = measure("onnxruntime", onnx_runner(ref.onnx, spec, device), spec, sizes, min_time)
    keras_file = ref.onnx.with_suffix(".keras")
    notes = []
    if keras:
        try:
            import keras as _keras  # noqa: F401
        except ImportError:
            notes.append("Keras not installed: onnxruntime only")
        else:
            if keras_file.exists():
                for name, run in keras_runners(keras_file, spec).items():
                    rows += measure(name, run, spec, sizes, min_time)
            else:
                notes.append(f"no {keras_file.name} beside the weights: onnxruntime only")
    ratio = speedups(rows, "keras predict")
    table = Table(title=f"{task} / {ref.meta.name} on {platform.processor() or platform.machine()}",
                  header_style="bold")
    for col in ("runtime", "batch", "images/s", "p50 ms", "p99 ms", "vs keras predict"):
        table.add_column(col, justify="right")
    for r in rows:
        x = ratio.get((r.runtime, r.batch_size))
        table.add_row(r.runtime, str(r.batch_size), f"{r.images_per_s:,.0f}", f"{r.p50_ms:.3f}",
                      f"{r.p99_ms:.3f}", f"{x:.2f}x" if x else "-")
    console.print(table)
    for note in notes:
        console.print(note)
    if json_out:
        json_out.write_text(json.dumps({"task": task, "weights": ref.meta.name,
                                        "rows": [r.to_dict() for r in rows]}, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
