"""``zoo train TASK`` and ``zoo eval TASK``: fit by the task's recipe, re-measure a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from zoo.cli.common import EXTRA_ARGS, console, friendly_errors, invoked_command, split_train_args

from zoo.registry import get_architecture, get_task


def metrics_table(title: str, columns: dict[str, dict[str, Any]]) -> Table:
    """Scalar metrics of several sources (model, baseline) side by side."""
    table = Table(title=title, header_style="bold")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    keys: list[str] = []
    for values in columns.values():
        keys.extend(k for k, v in (values or {}).items() if isinstance(v, (int, float)) and k not in keys)
    for key in keys:
        cells = []
        for values in columns.values():
            v = (values or {}).get(key)
            cells.append("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
        table.add_row(key, *cells)
    return table


@friendly_errors
def train(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task to train (see `zoo list`)."),
    arch: str | None = typer.Option(None, "--arch", "-a", help="Architecture (default: the task's)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (default runs/TASK-ARCH)."),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file; default: built-in source."),
    epochs: int | None = typer.Option(None, "--epochs", "-e", min=1),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", min=1),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate."),
    seed: int | None = typer.Option(None, "--seed"),
    name: str | None = typer.Option(None, "--name", help="Name of the weight set."),
) -> None:
    """Train by the task's recipe and write a run folder (model, ONNX, metadata, reports).

    Extra --field value pairs override recipe fields, --hp-NAME architecture
    hyper-parameters and --data-NAME data options.
    """
    from zoo.training import fit

    spec = get_task(task)
    architecture = get_architecture(task, arch)
    overrides, hparams, data_options = split_train_args(ctx.args)
    overrides.update(epochs=epochs, batch_size=batch_size, learning_rate=lr, seed=seed)
    out = out or Path("runs") / f"{task}-{architecture.name}"
    console.print(f"training [bold]{task}[/] / [bold]{architecture.name}[/] -> {out}")
    result = fit(task, architecture.name, out, data=data, recipe_overrides=overrides, hparams=hparams,
                 data_options=data_options, command=invoked_command(), name=name)
    console.print(metrics_table(f"{spec.name} held-out test split",
                                {"model": result.metrics, "baseline": result.meta.baseline or {}}))
    console.print(f"wrote {out}/model.keras, model.onnx, model.json, metrics.json and plots")


@friendly_errors
def evaluate(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    weights: str = typer.Option("default", "--weights", "-w", help="Run folder, .onnx file or shipped name."),
    arch: str | None = typer.Option(None, "--arch"),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file; default: the built-in source."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the report and plots."),
) -> None:
    """Re-measure weights on the held-out test split, beside the task's classical baseline."""
    from zoo.training import predict_onnx
    from zoo.weights import resolve

    spec = get_task(task)
    ref = resolve(task, weights, arch, spec.default_weights)
    ref.verify()
    dataset = spec.load_data_for(ref.meta, data, **split_train_args(ctx.args)[2])
    given_path = Path(weights).suffix == ".onnx" or Path(weights).is_dir()
    out = out or (ref.onnx.parent if given_path else Path("runs") / f"eval-{task}")
    out.mkdir(parents=True, exist_ok=True)
    metrics = spec.evaluate(dataset.test, predict_onnx(spec, ref.onnx, dataset.test), out)
    baseline = spec.baseline(dataset)
    console.print(metrics_table(f"{task}: {ref.meta.name} on the test split ({len(dataset.test)} samples)",
                                {"model": metrics, "baseline": baseline or {}}))
    (out / "eval.json").write_text(json.dumps({"weights": str(ref.onnx), "metrics": metrics,
                                               "baseline": baseline}, indent=2) + "\n")
    console.print(f"report and plots in {out}")


def register(app: typer.Typer) -> None:
    app.command("train", context_settings=EXTRA_ARGS)(train)
    app.command("eval", context_settings=EXTRA_ARGS)(evaluate)
