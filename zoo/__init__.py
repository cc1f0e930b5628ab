"""zoo: trained models for scientific image tasks, exported to ONNX, served by onnxruntime.

The public surface mirrors timm and torchvision::

    >>> import zoo
    >>> zoo.list_tasks()
    >>> model = zoo.load("digits")           # onnxruntime predictor with shipped weights
    >>> model.predict(["a.png"])
    >>> net = zoo.create_model("digits", "cnn")   # untrained Keras model (train extra)

Importing this package never imports TensorFlow.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

from zoo.predictor import Predictor, load  # noqa: E402
from zoo.registry import get_task, list_models, list_tasks, register_model, register_task  # noqa: E402
from zoo.task import Dataset, InputSpec, Recipe, Sample, Split, Task  # noqa: E402


def create_model(task: str, arch: str | None = None, **hparams: Any) -> Any:
    """Untrained Keras model of ``task``/``arch`` (needs the ``train`` extra)."""
    from zoo.training import create_model as _create

    return _create(task, arch, **hparams)


__all__ = [
    "Dataset", "InputSpec", "Predictor", "Recipe", "Sample", "Split", "Task", "create_model",
    "get_task", "list_models", "list_tasks", "load", "register_model", "register_task",
]
