"""Metric reports with scikit-learn and plots with matplotlib (Agg, file output only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zoo.task import Split, Task


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def classification_report(task: Task, split: Split, outputs: list[np.ndarray],
                          out_dir: Path | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class recall (+ ROC AUC for binary); confusion matrix PNG."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

    probs = outputs[0]
    y = np.asarray(split.y).astype(int).reshape(-1)
    w = split.weights
    if probs.ndim == 1 or probs.shape[-1] == 1:
        score = probs.reshape(-1)
        pred = (score >= 0.5).astype(int)
        labels = [0, 1]
    else:
        score = None
        pred = probs.argmax(axis=1)
        labels = list(range(len(task.classes)))
    names = list(task.classes) or [str(i) for i in labels]
    recalls = recall_score(y, pred, labels=labels, average=None, zero_division=0, sample_weight=w)
    report: dict[str, Any] = {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred, sample_weight=w)),
        "macro_f1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0,
                                   sample_weight=w)),
        "per_class_recall": {names[i]: float(r) for i, r in zip(labels, recalls, strict=True)},
    }
    if score is not None and len(np.unique(y)) == 2:
        report["roc_auc"] = float(roc_auc_score(y, score, sample_weight=w))
        if out_dir is not None:
            roc_plot(y, score, w, Path(out_dir) / "roc.png")
    if out_dir is not None:
        confusion_plot(y, pred, labels, names, Path(out_dir) / "confusion_matrix.png", w)
    return report


def confusion_plot(y: np.ndarray, pred: np.ndarray, labels: list[int], names: list[str],
                   path: Path, weights: np.ndarray | None = None) -> None:
    """Confusion matrix PNG; with ``weights`` the cells are sums of sample weights (the same
    weighting as the metrics), and the title says which."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    plt = _pyplot()
    matrix = confusion_matrix(y, pred, labels=labels, sample_weight=weights)
    size = max(5.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay(matrix, display_labels=names).plot(
        ax=ax, colorbar=False, xticks_rotation="vertical", include_values=len(labels) <= 25,
        values_format=".0f" if weights is not None else "d")
    ax.set_title("Confusion matrix (held-out split, "
                 + ("weighted: sums of sample weights)" if weights is not None
                    else "unweighted counts)"))
    fig.tight_layout()
    save_figure(fig, path)


def roc_plot(y: np.ndarray, score: np.ndarray, weights: np.ndarray | None, path: Path,
             extra: dict[str, np.ndarray] | None = None) -> None:
    """ROC curve of ``score`` and, optionally, of other named scores (e.g. a baseline)."""
    from sklearn.metrics import RocCurveDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    RocCurveDisplay.from_predictions(y, score, sample_weight=weights, ax=ax, name="model")
    for name, other in (extra or {}).items():
        RocCurveDisplay.from_predictions(y, other, sample_weight=weights, ax=ax, name=name)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    fig.tight_layout()
    save_figure(fig, path)


def history_plot(history: dict[str, list[float]], path: Path) -> None:
    """Training vs validation curves of every metric, as the Keras textbooks plot them."""
    plt = _pyplot()
    metrics = [k for k in history if not k.startswith("val_") and k not in ("learning_rate", "lr")]
    if not metrics:
        return
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], "o-", ms=3, label=f"training {name}")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], "s-", ms=3, label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> None:
    """Save through a temporary file so an interrupted run never leaves a broken PNG."""
    import os

    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
