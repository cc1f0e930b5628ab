"""``zoo kfold TASK --k 4``: K-fold validation (:func:`zoo.kfold`), printed fold by fold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from zoo.cli.common import EXTRA_ARGS, console, friendly_errors, invoked_command, split_train_args
from zoo.overrides import check as check_overrides
from zoo.registry import get_architecture, get_task


@friendly_errors
def kfold(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task, e.g. boston-housing."),
    k: int = typer.Option(4, "--k", "-k", min=2, help="Number of folds (the book uses 4)."),
    arch: str | None = typer.Option(None, "--arch", "-a", help="Architecture (default: the task's)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder (default runs/kfold-TASK-ARCH)."),
    data: str | None = typer.Option(None, "--data", "-d", help="Data file or folder."),
    epochs: int | None = typer.Option(None, "--epochs", "-e", min=1),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", min=1),
    seed: int | None = typer.Option(None, "--seed"),
    metric: str | None = typer.Option(None, "--metric", help="Validation metric to average "
                                      "(default: the recipe's first metric, e.g. mae)."),
    skip: int = typer.Option(0, "--skip", min=0, help="Leave the first N epochs out of the "
                             "plot (the book drops 10: they are off scale)."),
) -> None:
    """K-fold validation: per-fold training, the averaged validation curve as PNG and JSON.

    Extra --field value pairs override recipe fields, --hp-NAME hyper-parameters and
    --data-NAME data options, as for `zoo train`."""
    from zoo.cross_validation import kfold as run_kfold

    architecture = get_architecture(task, arch)
    overrides, hparams, data_options = split_train_args(ctx.args)
    overrides.update(epochs=epochs, batch_size=batch_size, seed=seed)
    check_overrides(get_task(task), architecture, overrides, hparams, data_options)
    out = out or Path("runs") / f"kfold-{task}-{architecture.name}"
    console.print(f"{k}-fold validation of [bold]{task}[/] / [bold]{architecture.name}[/] -> "
                  f"{escape(str(out))}")

    def show(fold: dict[str, Any]) -> None:
        console.print(f"fold {fold['fold']}/{fold['k']}: {fold['metric']} {fold['final']:.4f} at "
                      f"the last epoch, best {fold['best']:.4f} at epoch {fold['best_epoch']}")

    report = run_kfold(task, architecture.name, k, out, data=data, recipe_overrides=overrides,
                       hparams=hparams, data_options=data_options, metric=metric, skip=skip,
                       command=invoked_command(), on_fold=show)
    console.print(f"mean {report['metric']} over {k} folds: best {report['best_average']:.4f} at "
                  f"epoch {report['best_epoch']}; last epoch {report['final_mean']:.4f} "
                  f"± {report['final_std']:.4f}")
    console.print(f"wrote {out}/kfold.json and kfold.png", markup=False)


def register(app: typer.Typer) -> None:
    app.command("kfold", context_settings=EXTRA_ARGS)(kfold)
