"""``zoo kfold TASK --k 4``: K-fold validation as the textbook does it for Boston housing.

With few samples a fixed validation split is too noisy, so the book trains K models, each
validated on one of K contiguous folds of the training data, and plots the validation MAE
averaged over the folds per epoch to choose the number of epochs. This command does that
for any task: the task's data (its train and validation splits joined), architecture, recipe,
loss and metrics, with a fixed number of epochs (no early stopping, so the curves align).
It writes ``kfold.json`` (every fold's history, the averaged curve, its best epoch) and
``kfold.png`` atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from zoo.cli.common import EXTRA_ARGS, console, friendly_errors, invoked_command, split_train_args

from zoo.errors import ZooError
from zoo.io.files import atomic_write_text
from zoo.registry import get_architecture, get_task
from zoo.task import Dataset, Recipe, Split, Task


def join_splits(a: Split, b: Split) -> Split:
    """Train and validation as one pool of samples to be cut into folds."""
    weights = None if a.weights is None or b.weights is None else np.concatenate([a.weights, b.weights])
    return Split({k: np.concatenate([a.x[k], b.x[k]]) for k in a.x}, np.concatenate([a.y, b.y]),
                 weights)


def take(split: Split, sel: np.ndarray) -> Split:
    return Split({k: v[sel] for k, v in split.x.items()}, split.y[sel],
                 None if split.weights is None else split.weights[sel])


def fold_history(task: Task, arch: str, recipe: Recipe, hparams: dict[str, Any], data: Dataset,
                 fold: int) -> dict[str, list[float]]:
    """Train a fresh model on ``data.train``, validating on ``data.validation`` every epoch."""
    from zoo.training import build_compiled, fit_inputs, require_keras, validation_data

    keras = require_keras()
    keras.utils.set_random_seed(recipe.seed + fold)
    spec = get_architecture(task.name, arch)
    model = build_compiled(task, spec, recipe, data, {**spec.defaults, **hparams})
    history = model.fit(fit_inputs(task, data.train), task.fit_targets(data.train),
                        sample_weight=data.train.weights, batch_size=recipe.batch_size,
                        epochs=recipe.epochs, validation_data=validation_data(task, data.validation),
                        callbacks=task.callbacks(data, recipe), verbose=0, shuffle=True)
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def run_kfold(task_name: str, arch: str | None, k: int, out: Path, *, data: str | None = None,
              recipe_overrides: dict[str, Any] | None = None, hparams: dict[str, Any] | None = None,
              data_options: dict[str, Any] | None = None, metric: str | None = None,
              skip: int = 0, command: str = "") -> dict[str, Any]:
    """K-fold validation of ``task``/``arch``; returns (and writes) the report."""
    from zoo.training import monitor_mode

    task = get_task(task_name)
    spec = get_architecture(task_name, arch)
    recipe = task.recipe.override(**spec.recipe).override(**(recipe_overrides or {}))
    options = {**task.data_options_for(spec.name), **(data_options or {})}
    dataset = task.load_data(data, recipe.seed, **options)
    pool = join_splits(dataset.train, dataset.validation)
    if not 2 <= k <= len(pool):
        raise ZooError(f"--k must be between 2 and the {len(pool)} training samples, got {k}")
    metric = metric or (recipe.metrics[0] if recipe.metrics else "loss")
    key = f"val_{metric}"
    folds = []
    for i, val_idx in enumerate(np.array_split(np.arange(len(pool)), k)):
        train_idx = np.setdiff1d(np.arange(len(pool)), val_idx)
        fold_data = Dataset(take(pool, train_idx), take(pool, val_idx), dataset.test,
                            dataset.source)
        history = fold_history(task, spec.name, recipe, dict(hparams or {}), fold_data, i)
        if key not in history:
            raise ZooError(f"metric {metric!r} not recorded; available: "
                           f"{', '.join(h[4:] for h in history if h.startswith('val_'))}")
        curve = history[key]
        best = int(np.argmin(curve) if monitor_mode(metric) == "min" else np.argmax(curve))
        folds.append({"fold": i + 1, "n_train": int(len(train_idx)), "n_val": int(len(val_idx)),
                      "final": curve[-1], "best": curve[best], "best_epoch": best + 1,
                      "history": history})
        console.print(f"fold {i + 1}/{k}: {key} {curve[-1]:.4f} at the last epoch, "
                      f"best {curve[best]:.4f} at epoch {best + 1}")
    average = np.mean([f["history"][key] for f in folds], axis=0)
    best = int(np.argmin(average) if monitor_mode(metric) == "min" else np.argmax(average))
    finals = np.array([f["final"] for f in folds])
    report = {
        "task": task.name, "arch": spec.name, "k": k, "metric": key, "command": command,
        "recipe": recipe.to_dict(), "data_source": dataset.source, "n_samples": int(len(pool)),
        "average_curve": [float(v) for v in average], "best_epoch": best + 1,
        "best_average": float(average[best]), "final_mean": float(finals.mean()),
        "final_std": float(finals.std()), "folds": folds,
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "kfold.json", json.dumps(report, indent=2) + "\n")
    kfold_plot(report, out / "kfold.png", skip)
    return report


def kfold_plot(report: dict[str, Any], path: Path, skip: int = 0) -> None:
    """The book's figure: validation metric averaged over folds per epoch (folds faint)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.reports import save_figure

    average = report["average_curve"]
    skip = min(max(0, skip), len(average) - 1)
    epochs = np.arange(skip + 1, len(average) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    for fold in report["folds"]:
        ax.plot(epochs, fold["history"][report["metric"]][skip:], lw=0.8, alpha=0.35,
                label=f"fold {fold['fold']}")
    ax.plot(epochs, average[skip:], "b-", lw=2, label=f"mean of {report['k']} folds")
    ax.axvline(report["best_epoch"], color="k", ls=":", lw=1)
    ax.set_xlabel("Epochs")
    ax.set_ylabel(f"Validation {report['metric'][4:].upper()}")
    ax.set_title(f"{report['task']} / {report['arch']}: {report['k']}-fold validation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


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
    architecture = get_architecture(task, arch)
    overrides, hparams, data_options = split_train_args(ctx.args)
    overrides.update(epochs=epochs, batch_size=batch_size, seed=seed)
    out = out or Path("runs") / f"kfold-{task}-{architecture.name}"
    console.print(f"{k}-fold validation of [bold]{task}[/] / [bold]{architecture.name}[/] -> {out}")
    report = run_kfold(task, architecture.name, k, out, data=data, recipe_overrides=overrides,
                       hparams=hparams, data_options=data_options, metric=metric, skip=skip,
                       command=invoked_command())
    console.print(f"mean {report['metric']} over {k} folds: best {report['best_average']:.4f} at "
                  f"epoch {report['best_epoch']}; last epoch {report['final_mean']:.4f} "
                  f"± {report['final_std']:.4f}")
    console.print(f"wrote {out}/kfold.json and kfold.png")


def register(app: typer.Typer) -> None:
    app.command("kfold", context_settings=EXTRA_ARGS)(kfold)
