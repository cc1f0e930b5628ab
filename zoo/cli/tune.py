"""``zoo tune TASK --arch A --trials N``: Optuna search over an architecture's search space."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from zoo.cli.common import EXTRA_ARGS, console, friendly_errors, invoked_command, split_train_args
from zoo.errors import ZooError
from zoo.io.files import atomic_write_text
from zoo.overrides import check as check_overrides
from zoo.overrides import unknown
from zoo.registry import get_architecture, get_task


def trials_table(result: Any) -> Table:
    """One row per trial: its value, epochs and parameters; the best row highlighted."""
    table = Table(title=f"{result.task} / {result.arch}: {result.direction} {result.monitor}",
                  header_style="bold")
    for name in ("trial", result.monitor, "epochs"):
        table.add_column(name, justify="right")
    table.add_column("parameters", justify="left")
    best = result.best.number if result.best else None
    for t in result.trials:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in {**t.recipe, **t.hparams}.items())
        value = f"{t.value:.4f}" if t.value is not None else f"[red]{t.state}[/]"
        table.add_row(str(t.number), value, str(t.epochs), params,
                      style="bold green" if t.number == best else None)
    return table


@friendly_errors
def tune(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task to tune (see `zoo list`)."),
    arch: str | None = typer.Option(None, "--arch", "-a", help="Architecture (default: the task's)."),
    trials: int = typer.Option(10, "--trials", "-n", min=1, help="Number of Optuna trials."),
    epochs: int | None = typer.Option(None, "--epochs", "-e", min=1, help="Epoch cap per trial."),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file; default: built-in source."),
    seed: int | None = typer.Option(None, "--seed"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for tune.json (default runs/)."),
    train_best: bool = typer.Option(False, "--train-best",
                                    help="Then train the best trial with `zoo train` into OUT/best."),
    best_epochs: int | None = typer.Option(None, "--best-epochs", min=1,
                                           help="Epoch cap of the --train-best run (default: recipe)."),
) -> None:
    """Search hyper-parameters with Optuna, maximising the task's validation metric.

    Extra --data-NAME value pairs are data options (e.g. --data-n-jets 5000), other --field
    value pairs recipe overrides, as for `zoo train`; each is checked before trials start.
    """
    from zoo.tuning import tune as run_tune

    architecture = get_architecture(task, arch)
    overrides, hparams, options = split_train_args(ctx.args)
    if hparams:  # the search space sets them
        raise unknown("option of zoo tune", f"hp_{next(iter(hparams))}",
                      [p.name for p in ctx.command.params if p.name and p.name != "task"])
    check_overrides(get_task(task), architecture, overrides, data_options=options)
    out = out or Path("runs") / f"tune-{task}-{architecture.name}"
    if train_best and (out / "best" / "model.json").exists():
        raise ZooError(f"{out / 'best'}: holds a finished run; pass another --out for "
                       "--train-best")
    console.print(f"tuning [bold]{task}[/] / [bold]{architecture.name}[/]: {trials} trials")

    def show(trial: Any) -> None:
        value = f"{trial.value:.4f}" if trial.value is not None else trial.error
        console.print(f"trial {trial.number}: {value} ({trial.epochs} epochs)")

    result = run_tune(task, architecture.name, trials, source=data, data_options=options,
                      recipe_overrides=overrides, epochs=epochs, seed=seed, on_trial=show)
    console.print(trials_table(result))
    record = {**result.to_dict(), "command": invoked_command(), "data": data,
              "data_options": options}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "tune.json", json.dumps(record, indent=2) + "\n")
    if result.best is None:
        console.print("[red]no trial completed[/]")
        raise typer.Exit(1)
    command = result.train_command(best_epochs)
    if data:
        command += f" --data {shlex.quote(data)}"
    command += "".join(f" --data-{k.replace('_', '-')} {v}" for k, v in options.items())
    console.print(f"best trial {result.best.number}: {result.monitor} = {result.best.value:.4f}")
    console.print(f"train and ship it with:\n  {command} --out {out / 'best'}", markup=False)
    if train_best:
        _train_best(result, task, data, options, out / "best", best_epochs, command)


def _train_best(result: Any, task: str, data: str | None, options: dict[str, Any], out: Path,
                epochs: int | None, command: str) -> None:
    from zoo.cli.train import metrics_table
    from zoo.training import fit

    overrides = {**result.best_recipe(), "epochs": epochs}
    run = fit(task, result.arch, out, data=data, recipe_overrides=overrides,
              hparams=result.best.hparams, data_options=options, command=command)
    console.print(metrics_table(f"{task} best trial, held-out test split",
                                {"model": run.metrics, "baseline": run.meta.baseline or {}}))
    console.print(f"wrote {out}; ship it with `zoo ship {out} --name NAME --dest weights`",
                  markup=False)


def register(app: typer.Typer) -> None:
    app.command("tune", context_settings=EXTRA_ARGS)(tune)
