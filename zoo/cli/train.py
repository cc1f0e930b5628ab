"""``zoo train TASK`` and ``zoo eval TASK``: fit by the task's recipe, re-measure a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from zoo.cli.common import (
    EXTRA_ARGS,
    WEIGHTS_HELP,
    console,
    friendly_errors,
    invoked_command,
    split_train_args,
)
from zoo.overrides import check as check_overrides
from zoo.overrides import unknown
from zoo.registry import get_architecture, get_task


def metrics_table(title: str, columns: dict[str, dict[str, Any]]) -> Table:
    """Scalar metrics of several sources (model, baseline) side by side."""
    table = Table(title=title, header_style="bold")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    columns = {name: _flat_numbers(values or {}) for name, values in columns.items()}
    keys: list[str] = []
    for values in columns.values():
        keys.extend(k for k in values if k not in keys)
    for key in keys:
        cells = []
        for values in columns.values():
            v = values.get(key)
            cells.append("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
        table.add_row(key, *cells)
    return table


def _flat_numbers(values: dict[str, Any]) -> dict[str, int | float]:
    """Numeric metrics, with numeric dicts (per-class recall) as ``name/key`` rows."""
    flat: dict[str, int | float] = {}
    for key, value in values.items():
        if isinstance(value, (int, float)):
            flat[key] = value
        elif isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
            flat.update({f"{key}/{k}": v for k, v in value.items()})
    return flat


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
    force: bool = typer.Option(False, "--force",
                               help="Retrain from scratch into a folder holding a finished or "
                                    "interrupted run (its model, history and checkpoint go)."),
    init: str | None = typer.Option(None, "--init",
                                    help="Fine-tune: start from these weights (a weight-set name "
                                         "with Keras weights, a run folder or a .weights.h5)."),
) -> None:
    """Train by the task's recipe and write a run folder (model, ONNX, metadata, reports).

    Extra --field value pairs override recipe fields, --hp-NAME architecture
    hyper-parameters and --data-NAME data options; each is checked before training starts.
    An interrupted run resumes when started again with the same options.
    """
    from zoo.training import fit

    spec = get_task(task)
    architecture = get_architecture(task, arch)
    overrides, hparams, data_options = split_train_args(ctx.args)
    overrides.update(epochs=epochs, batch_size=batch_size, learning_rate=lr, seed=seed)
    check_overrides(spec, architecture, overrides, hparams, data_options)  # before TF loads
    out = out or Path("runs") / f"{task}-{architecture.name}"
    console.print(f"training [bold]{task}[/] / [bold]{architecture.name}[/] -> {escape(str(out))}")
    result = fit(task, architecture.name, out, data=data, recipe_overrides=overrides, hparams=hparams,
                 data_options=data_options, command=invoked_command(), name=name, force=force,
                 init=init)
    if result.resumed_from:
        console.print(f"resumed after epoch {result.resumed_from}; the history holds every epoch")
    console.print(metrics_table(f"{spec.name} held-out test split",
                                {"model": result.metrics, "baseline": result.meta.baseline or {}}))
    console.print(f"wrote {out}/model.keras, model.onnx, model.json, metrics.json and plots",
                  markup=False)


@friendly_errors
def evaluate(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    weights: str = typer.Option("default", "--weights", "-w",
                                help=WEIGHTS_HELP),
    arch: str | None = typer.Option(None, "--arch"),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file; default: the built-in source."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the report and plots."),
    seed: int | None = typer.Option(None, "--seed",
                                    help="Data seed (simulator and split); default: the weights' "
                                         "own. A fresh seed measures on data the weights never "
                                         "saw, the baseline refitted on its train split."),
) -> None:
    """Re-measure weights on the held-out test split, beside the task's classical baseline.

    Extra --data-NAME value pairs are data options (checked against the task's)."""
    from zoo.evaluation import evaluate as run_evaluate

    overrides, hparams, data_options = split_train_args(ctx.args)
    stray = [*overrides, *(f"hp_{k}" for k in hparams)]
    if stray:
        raise unknown("option of zoo eval", stray[0], [p.name for p in ctx.command.params
                                                       if p.name and p.name != "task"])
    given_path = Path(weights).suffix == ".onnx" or Path(weights).is_dir()
    out = out or (Path(weights) if Path(weights).is_dir() else Path(weights).parent if given_path
                  else Path("runs") / f"eval-{task}")
    report = run_evaluate(task, weights, arch=arch, data=data, out=out, data_options=data_options,
                          seed=seed)
    console.print(metrics_table(f"{task}: {report['name']} on the test split ({report['n']} samples)",
                                {"model": report["metrics"], "baseline": report["baseline"] or {}}))
    console.print(f"report and plots in {out}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("train", context_settings=EXTRA_ARGS)(train)
    app.command("eval", context_settings=EXTRA_ARGS)(evaluate)
