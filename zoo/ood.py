"""Out-of-distribution score: how unlike the inputs a weight set was trained on an input is.

A classifier answers every input with some class. A resized screenshot, a photo, a blank image
or noise must not come out as a confident class, so every prediction also gets a score:

* evidence per sample = the task's cheap input features (:meth:`zoo.task.Task.ood_features`,
  e.g. for glitch: pixels outside the colour map's luminance range, noise-floor level and
  spread, row/column profile structure, pixel-to-pixel correlation) + its output features
  (:func:`output_features`: for classifiers the normalised entropy and the log-odds of the top
  class, for regression the predicted values; or the task's own,
  :meth:`zoo.task.Task.ood_output_features`: cluster-mass's mass and log sigma);
* score = Mahalanobis distance of that evidence to its distribution on held-out data of the
  training source (for the shipped weights: simulated scans of a seed the training never saw),
  with the covariance shrunk towards its diagonal so that a few hundred samples suffice;
* threshold = the ``percentile`` (99.5 by default) of the scores of a second held-out half,
  so about 0.5% of in-distribution inputs are flagged.

The calibration lives in the weights' metadata JSON as an optional ``ood`` section::

    "ood": {"version": 1, "features": [names], "mean": [k floats], "scale": [k floats],
            "precision": [[k x k floats]], "threshold": float, "percentile": 99.5,
            "n_fit": int, "n_threshold": int, "calibrated_on": {data source}, "created": iso}

Weights without it predict as before, without a score. :func:`calibrate_weights` writes the
section in one call (``zoo.ood.calibrate_weights("glitch-multiview", sim_seed=1000)``,
``zoo.ood.calibrate_weights("jet-quench-inception", seed=1000)``); rerun
it whenever the weights are retrained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zoo.predictor import Prediction
    from zoo.task import Split, Task

OOD_VERSION = 1
DEFAULT_PERCENTILE = 99.5
#: weight of the diagonal in the shrunk covariance (Ledoit-Wolf-like fixed shrinkage)
SHRINKAGE = 0.1
#: added to the diagonal of the standardised covariance: keeps it invertible when features
#: are collinear or constant on the calibration data
VARIANCE_FLOOR = 1e-3
#: smallest standard deviation a feature is measured in: a share of 0.5% of the pixels, 0.005
#: in gray level or correlation; keeps features constant on the calibration data finite
SCALE_FLOOR = 0.005


def lag1_correlation(a: np.ndarray, axis: int) -> np.ndarray:
    """Correlation of each (mean-removed) image of ``a`` (n, H, W) with itself shifted one
    pixel along ``axis`` (1: rows, 2: columns): smooth images near 1, pixel noise near 0."""
    head, tail = (a[:, :-1], a[:, 1:]) if axis == 1 else (a[:, :, :-1], a[:, :, 1:])
    num = np.einsum("nij,nij->n", head, tail)
    den = np.sqrt(np.einsum("nij,nij->n", head, head) * np.einsum("nij,nij->n", tail, tail))
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)


def image_evidence(images: np.ndarray) -> dict[str, np.ndarray]:
    """Generic input evidence of a batch of images (n, H, W[, C]) in [0, 1], channels averaged:
    brightness (mean, spread, shares of dark and of bright pixels), smoothness along rows and
    columns, and how far the ink's centroid sits from the centre (share of the image size).

    What the textbook digit and clothing tasks use: their inputs are centred bright items on a
    dark ground, and a photo, a page or noise differs on several of these at once.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x.mean(axis=3)
    n, height, width = x.shape
    flat = x.reshape(n, -1)
    total = flat.sum(axis=1)
    norm = np.where(total > 0, total, 1.0)
    rows = (x.sum(axis=2) @ (np.arange(height) - (height - 1) / 2)) / norm / height
    cols = (x.sum(axis=1) @ (np.arange(width) - (width - 1) / 2)) / norm / width
    centred = x - x.mean(axis=(1, 2), keepdims=True)
    return {"mean": flat.mean(axis=1), "std": flat.std(axis=1),
            "dark_share": (flat <= 0.1).mean(axis=1), "bright_share": (flat >= 0.9).mean(axis=1),
            "lag1_rows": lag1_correlation(centred, 1), "lag1_cols": lag1_correlation(centred, 2),
            "ink_offset": np.hypot(rows, cols)}


def output_features(outputs: list[np.ndarray], kind: str = "classification"
                    ) -> dict[str, np.ndarray]:
    """Output-level evidence of a batch: for classifiers the normalised entropy and top-class
    log-odds (softmax rows (n, K), sigmoid scores (n,) or (n, 1)); for regression the
    predicted values themselves (``output_0``, ...).
    """
    if kind == "regression":
        values = np.asarray(outputs[0], dtype=np.float64).reshape(len(outputs[0]), -1)
        return {f"output_{i}": values[:, i] for i in range(values.shape[1])}
    probs = np.asarray(outputs[0], dtype=np.float64)
    if probs.ndim == 1 or probs.shape[-1] == 1:
        p = probs.reshape(-1, 1)
        probs = np.concatenate([1 - p, p], axis=1)
    probs = np.clip(probs, 1e-7, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    entropy = -(probs * np.log(probs)).sum(axis=1) / np.log(probs.shape[1])
    top = probs.max(axis=1)
    return {"entropy": entropy, "top_log_odds": np.log(top / np.clip(1 - top, 1e-7, None))}


def sample_features(task: Task, inputs: Mapping[str, np.ndarray],
                    outputs: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
    """(names, (n, k) matrix) of every piece of evidence for a batch."""
    outputs_named = task.ood_output_features(outputs)
    if outputs_named is None:
        outputs_named = output_features(outputs, task.kind)
    named = {**task.ood_features(inputs), **outputs_named}
    names = sorted(named)
    return names, np.stack([np.asarray(named[k], dtype=np.float64) for k in names], axis=1)


@dataclass(frozen=True)
class OODCalibration:
    """A fitted score: feature standardisation, shrunk precision matrix and threshold."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    precision: np.ndarray
    threshold: float
    percentile: float
    n_fit: int
    n_threshold: int
    calibrated_on: dict[str, Any]
    created: str = ""

    def score(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of each row of ``features`` (same order as ``self.features``)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, self.precision, z), 0.0))

    def to_meta(self) -> dict[str, Any]:
        return {"version": OOD_VERSION, "features": list(self.features),
                "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "precision": self.precision.tolist(), "threshold": self.threshold,
                "percentile": self.percentile, "n_fit": self.n_fit,
                "n_threshold": self.n_threshold, "calibrated_on": self.calibrated_on,
                "created": self.created}

    @classmethod
    def from_meta(cls, section: Mapping[str, Any]) -> OODCalibration:
        if int(section.get("version", 0)) != OOD_VERSION:
            raise ValueError(f"ood section version {section.get('version')!r}; "
                             f"this zoo reads version {OOD_VERSION}")
        return cls(tuple(section["features"]), np.asarray(section["mean"], np.float64),
                   np.asarray(section["scale"], np.float64),
                   np.asarray(section["precision"], np.float64), float(section["threshold"]),
                   float(section["percentile"]), int(section["n_fit"]),
                   int(section["n_threshold"]), dict(section.get("calibrated_on", {})),
                   str(section.get("created", "")))


def fit(names: list[str], fit_rows: np.ndarray, threshold_rows: np.ndarray,
        percentile: float = DEFAULT_PERCENTILE,
        calibrated_on: Mapping[str, Any] | None = None) -> OODCalibration:
    """Fit mean and shrunk covariance on ``fit_rows``; threshold at ``percentile`` of the
    scores of ``threshold_rows`` (a second held-out set, so the threshold is not optimistic)."""
    mean = fit_rows.mean(axis=0)
    scale = np.maximum(fit_rows.std(axis=0), SCALE_FLOOR)
    z = (fit_rows - mean) / scale
    cov = np.cov(z, rowvar=False).reshape(len(names), len(names))
    cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov))
    cov += VARIANCE_FLOOR * np.eye(len(names))
    calibration = OODCalibration(tuple(names), mean, scale, np.linalg.inv(cov), 0.0, percentile,
                                 len(fit_rows), len(threshold_rows), dict(calibrated_on or {}),
                                 datetime.now(timezone.utc).isoformat(timespec="seconds"))
    threshold = float(np.percentile(calibration.score(threshold_rows), percentile))
    return OODCalibration(**{**calibration.__dict__, "threshold": threshold})


def split_features(task: Task, split: Split, run: Any, batch_size: int = 256
                   ) -> tuple[list[str], np.ndarray]:
    """Evidence of every sample of ``split``; ``run`` maps an input batch to model outputs
    (or is the list of outputs of the whole split, already computed)."""
    names: list[str] = []
    rows = []
    keys = task.input_names()
    for start in range(0, len(split), batch_size):
        batch = {k: split.x[k][start:start + batch_size] for k in keys}
        outputs = [o[start:start + batch_size] for o in run] if isinstance(run, list) \
            else run(batch)
        names, part = sample_features(task, batch, outputs)
        rows.append(part)
    return names, np.concatenate(rows)


def split_rate(section: Mapping[str, Any], task: Task, split: Split,
               outputs: list[np.ndarray]) -> dict[str, Any]:
    """Share of a split flagged out of distribution, for ``zoo eval`` (e.g. on real scans)."""
    calibration = OODCalibration.from_meta(section)
    _, rows = split_features(task, split, outputs)
    flagged = calibration.score(rows) > calibration.threshold
    return {"ood_rate": float(flagged.mean()) if len(flagged) else 0.0,
            "ood_flagged": int(flagged.sum()), "ood_threshold": calibration.threshold}


def calibrate_weights(name_or_path: str | Path, source: str | None = None,
                      percentile: float = DEFAULT_PERCENTILE, write: bool = True,
                      seed: int | None = None, fit_on: str = "validation",
                      **data_options: Any) -> dict[str, Any]:
    """Calibrate a weight set's ``ood`` section on held-out data and (``write``) store it.

    ``name_or_path``: a weight set's name or ``name.vN`` tag (``"glitch-multiview"``), a run
    folder or an .onnx file. The data are the validation and test splits of ``source`` (None:
    the weights' own data source re-created from their metadata, with ``data_options``
    overriding it - for a simulator, pass a seed the training never used, so that every
    sample is unseen: ``seed`` where the simulator draws with the data seed (jet-quench,
    cluster-mass), the ``sim_seed`` option for glitch). Mean and covariance are fitted on
    the validation split, the threshold taken on the test split. Returns the section; with
    ``write`` it goes into the metadata JSON beside the .onnx file (the ONNX bytes and their
    sha256 are unchanged). ``fit_on="train"`` fits on the training split instead, for
    weights trained on nearly all their data (a textbook final model with a 1% validation
    split): its inputs are the training distribution itself; the threshold still comes from
    the held-out test split.
    """
    from dataclasses import replace

    from zoo.predictor import Model
    from zoo.registry import get_task

    if fit_on not in ("validation", "train"):
        raise ValueError(f"fit_on={fit_on!r}: 'validation' or 'train'")
    ref = _weight_set(name_or_path)
    spec = get_task(ref.meta.task)
    data = spec.load_data_for(ref.meta, source, seed=seed, **data_options)
    model = Model(spec, ref)
    names, fit_rows = split_features(spec, getattr(data, fit_on), model.run)
    _, threshold_rows = split_features(spec, data.test, model.run)
    origin = {k: v for k, v in data.source.items() if k != "path"}
    if fit_on == "train":
        origin["fitted_on"] = "train"
    section = fit(names, fit_rows, threshold_rows, percentile, calibrated_on=origin).to_meta()
    if write:
        replace(ref.meta, ood=section).save(ref.onnx.with_suffix(".json"))
    return section


def _weight_set(name_or_path: str | Path) -> Any:
    """The weight set of a name or tag of any task, a run folder or an .onnx file."""
    from zoo.errors import WeightsError
    from zoo.weights import WeightsMeta, list_weights, resolve

    path = Path(name_or_path)
    if path.exists():
        meta_file = path / "model.json" if path.is_dir() else path.with_suffix(".json")
        return resolve(WeightsMeta.from_file(meta_file).task, path)
    found = [w for w in list_weights() if str(name_or_path) in (w.meta.name, w.tag)]
    if not found:
        raise WeightsError(f"no weight set named {name_or_path!r} (see `zoo list`)")
    return found[-1]  # the newest version


#: the fields :func:`annotate` adds to a result
OOD_FIELDS = ("ood", "ood_flag")


def annotate(calibration: OODCalibration, task: Task, inputs: Mapping[str, np.ndarray],
             outputs: list[np.ndarray], results: list[dict[str, Any] | None]) -> None:
    """Add ``ood`` (the score) and ``ood_flag`` (score above the threshold) to each result."""
    names, rows = sample_features(task, inputs, outputs)
    if tuple(names) != calibration.features:
        raise ValueError(f"ood section has features {list(calibration.features)}, the task "
                         f"gives {names}: recalibrate with zoo.ood.calibrate_weights")
    for result, score in zip(results, calibration.score(rows), strict=True):
        if result is not None:
            result[OOD_FIELDS[0]] = float(score)
            result[OOD_FIELDS[1]] = bool(score > calibration.threshold)


def refuse_flagged(pred: Prediction) -> Prediction:
    """``--strict``: a prediction flagged out of distribution becomes a one-line error."""
    from zoo.predictor import Prediction

    if not pred.ok or not pred.result.get("ood_flag"):
        return pred
    return Prediction(pred.key, error=f"{pred.key}: out of distribution (OOD score "
                                      f"{pred.result['ood']:.1f} above the weights' threshold): "
                                      "unlike the inputs these weights were trained on",
                      weights=pred.weights)
