"""K-fold validation as the textbook does it for Boston housing (train extra).

With few samples a fixed validation split is too noisy, so the book trains K models, each
validated on one of K contiguous folds of the training data, and plots the validation MAE
averaged over the folds per epoch to choose the number of epochs. :func:`kfold` does that
for any task: the task's data (its train and validation splits joined), architecture and
recipe, each fold trained through the same engine as ``zoo train``
(:func:`zoo.training.train_model`), except that every fold runs the full number of epochs
(no early stopping, so the curves align). It writes ``kfold.json`` (every fold's history,
the averaged curve, its best epoch) and ``kfold.png`` atomically.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.io.files import atomic_write_text
from zoo.overrides import check
from zoo.registry import get_architecture, get_task
from zoo.task import Dataset, Split


def join_splits(a: Split, b: Split) -> Split:
    """Train and validation as one pool of samples to be cut into folds."""
    weights = None if a.weights is None or b.weights is None else np.concatenate([a.weights, b.weights])
    return Split({k: np.concatenate([a.x[k], b.x[k]]) for k in a.x}, np.concatenate([a.y, b.y]),
                 weights)


def take(split: Split, sel: np.ndarray) -> Split:
    return Split({k: v[sel] for k, v in split.x.items()}, split.y[sel],
                 None if split.weights is None else split.weights[sel])


def kfold(task_name: str, arch: str | None = None, k: int = 4, out: str | Path | None = None, *,
          data: str | None = None, recipe_overrides: Mapping[str, Any] | None = None,
          hparams: Mapping[str, Any] | None = None, data_options: Mapping[str, Any] | None = None,
          metric: str | None = None, skip: int = 0, command: str = "",
          on_fold: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """K-fold validation of ``task``/``arch``; returns the report (and writes it to ``out``).

    Overrides are checked before any data is loaded; ``on_fold`` sees each fold's record."""
    from zoo.training import monitor_mode, train_model

    task = get_task(task_name)
    spec = get_architecture(task_name, arch)
    checked = check(task, spec, recipe_overrides, hparams, data_options)
    # Every fold runs all epochs so that the per-epoch curves can be averaged.
    recipe = dataclasses.replace(checked.recipe, early_stopping_patience=None)
    options = {**task.data_options_for(spec.name), **checked.data_options}
    dataset = task.load_data(data, recipe.seed, **options)
    pool = join_splits(dataset.train, dataset.validation)
    if not 2 <= k <= len(pool):
        raise ZooError(f"--k must be between 2 and the {len(pool)} training samples, got {k}")
    metric = metric or (recipe.metrics[0] if recipe.metrics else "loss")
    key = f"val_{metric}"
    folds: list[dict[str, Any]] = []
    for i, val_idx in enumerate(np.array_split(np.arange(len(pool)), k)):
        train_idx = np.setdiff1d(np.arange(len(pool)), val_idx)
        fold_data = Dataset(take(pool, train_idx), take(pool, val_idx), dataset.test,
                            dataset.source)
        history = train_model(task, spec, recipe, fold_data, checked.hparams,
                              seed=recipe.seed + i).history
        if key not in history:
            raise ZooError(f"metric {metric!r} not recorded; available: "
                           f"{', '.join(h[4:] for h in history if h.startswith('val_'))}")
        curve = history[key]
        best = int(np.argmin(curve) if monitor_mode(metric) == "min" else np.argmax(curve))
        folds.append({"fold": i + 1, "n_train": int(len(train_idx)), "n_val": int(len(val_idx)),
                      "final": curve[-1], "best": curve[best], "best_epoch": best + 1,
                      "history": history})
        if on_fold:
            on_fold({**folds[-1], "k": k, "metric": key})
    average = np.mean([f["history"][key] for f in folds], axis=0)
    best = int(np.argmin(average) if monitor_mode(metric) == "min" else np.argmax(average))
    finals = np.array([f["final"] for f in folds])
    report = {
        "task": task.name, "arch": spec.name, "k": k, "metric": key, "command": command,
        "recipe": recipe.to_dict(), "hparams": checked.hparams, "data_source": dataset.source,
        "n_samples": int(len(pool)), "average_curve": [float(v) for v in average],
        "best_epoch": best + 1, "best_average": float(average[best]),
        "final_mean": float(finals.mean()), "final_std": float(finals.std()), "folds": folds,
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "kfold.json", json.dumps(report, indent=2) + "\n")
        kfold_plot(report, out / "kfold.png", skip)
    return report


def kfold_plot(report: Mapping[str, Any], path: Path, skip: int = 0) -> None:
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
