"""Re-measuring a weight set on held-out data, as ``zoo eval`` and :func:`zoo.evaluate` do.

The data are re-created from the weights' own metadata (simulator seed and options, or the
recorded file while it exists) unless a file is given, and the exported ONNX model is run
through onnxruntime - what users get - never Keras. What training chose on the validation
split and stored in the metadata (glitch-chirp's decision threshold) is reported from there.
No TensorFlow is needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.io.files import atomic_write_text
from zoo.overrides import check_data_options
from zoo.registry import get_task
from zoo.task import Split, Task, data_seed


def predict_onnx(task: Task, onnx_path: Path, split: Split, batch_size: int = 256) -> list[np.ndarray]:
    """Outputs of the exported model on a split, batch by batch (what users will get)."""
    from zoo.predictor import make_session, run_split

    session = make_session(onnx_path, "cpu")
    names = [i.name for i in session.get_inputs()]

    def run(batch: dict[str, np.ndarray]) -> list[np.ndarray]:
        return session.run(None, {g: batch[t].astype(np.float32)
                                  for g, t in zip(names, task.input_names(), strict=True)})

    return run_split(run, task, split, batch_size)


def measure(task: Task, onnx_path: Path, split: Split, threshold: Mapping[str, Any] | None = None,
            out_dir: Path | None = None, ood: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The task's metrics of the ONNX model on ``split`` (plots into ``out_dir``), with the
    validation threshold recorded in the weights' metadata and, given the weights' ``ood``
    section, the share of the split flagged out of distribution."""
    outputs = predict_onnx(task, onnx_path, split)
    metrics = task.evaluate(split, outputs, out_dir)
    if threshold:
        metrics["threshold"] = dict(threshold)
    if ood:
        from zoo.ood import split_rate

        metrics.update(split_rate(ood, task, split, outputs))
    return metrics


def evaluate(task: str, weights: str | Path = "default", *, arch: str | None = None,
             data: str | None = None, out: str | Path | None = None,
             data_options: Mapping[str, Any] | None = None,
             seed: int | None = None) -> dict[str, Any]:
    """Metrics of ``weights`` on the test split beside the task's classical baseline.

    ``seed`` (default: the weights' own) re-creates the data with another seed: for a
    simulator a fresh sample the weights never saw, with the baseline fitted on its train
    split. Returns ``{"weights", "name", "n", "seed", "metrics", "baseline"}``; with ``out``
    the report is also written to ``out/eval.json`` and the task's plots beside it.
    """
    from zoo.weights import resolve

    spec = get_task(task)
    options = check_data_options(spec, data_options or {})
    ref = resolve(task, weights, arch, spec.default_weights)
    ref.verify()
    dataset = spec.load_data_for(ref.meta, data, seed=seed, **options)
    out_dir = None if out is None else Path(out)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    threshold = ref.meta.threshold or ref.meta.metrics.get("threshold")  # older metadata
    metrics = measure(spec, ref.onnx, dataset.test, threshold, out_dir, ref.meta.ood)
    report = {"weights": str(ref.onnx), "name": ref.meta.name, "n": len(dataset.test),
              "seed": data_seed(ref.meta, seed), "metrics": metrics, "baseline": spec.baseline(dataset)}
    if out_dir is not None:
        atomic_write_text(out_dir / "eval.json", json.dumps(report, indent=2, default=str) + "\n")
    return report
