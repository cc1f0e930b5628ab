"""zoo: trained models for scientific image tasks, exported to ONNX, served by onnxruntime.

The public surface mirrors timm and torchvision::

    >>> import zoo
    >>> zoo.list_tasks()
    >>> zoo.list_models("*cnn*")                  # "task/arch" names, glob patterns
    >>> zoo.list_weights("glitch")                # shipped WeightSets, name.vN tags
    >>> model = zoo.load("digits")                # onnxruntime predictor, shipped weights
    >>> model("a.png"), model(pil_image), model(array)
    >>> net = zoo.create_model("digits", "cnn", pretrained=True)   # Keras (train extra)

Every command has its function here, which the CLI only parses options for and prints::

    >>> zoo.evaluate("digits", weights="runs/d1")  # zoo eval
    >>> zoo.train("digits", "cnn", "runs/d1")      # zoo train (train extra, as below)
    >>> zoo.export("runs/d1/model.keras", "d1.onnx"), zoo.quantize("d1.onnx", "d1-int8.onnx")
    >>> zoo.bench("digits"), zoo.kfold("boston-housing", k=4), zoo.tune("jet-quench", "cnn", 10)

Importing this package never imports TensorFlow: those functions load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.2.0"

from zoo.errors import WeightsError  # noqa: E402
from zoo.predictor import Prediction, Predictor, load  # noqa: E402
from zoo.registry import get_task, list_models, list_tasks, register_model, register_task  # noqa: E402
from zoo.task import Dataset, InputSpec, OutputSpec, Recipe, Sample, Split, Task  # noqa: E402
from zoo.weights import WeightSet, WeightsMeta, list_weights, resolve  # noqa: E402


def create_model(task: str, arch: str | None = None, *, pretrained: bool = False,
                 weights: str | Path = "default", **hparams: Any) -> Any:
    """The Keras model of ``task``/``arch`` (needs the ``train`` extra).

    ``pretrained=True`` loads the Keras weights shipped beside a weight set's ONNX file
    (``<name>.weights.h5``), into the architecture and hyper-parameters they were trained
    with, ready to fine-tune: ``weights`` picks the set (default: the task's default, or the
    newest shipped weights of ``arch``).
    """
    from zoo.training import create_model as build

    if not pretrained:
        return build(task, arch, **hparams)
    found = resolve(task, weights, arch, get_task(task).default_weights)
    if arch is not None and found.meta.arch != arch:
        raise WeightsError(f"weights {found.tag} are a {found.meta.arch!r} model, not {arch!r}")
    keras_weights = found.keras_weights
    if keras_weights is None:
        raise WeightsError(f"weights {found.tag} ship no Keras weights ({found.onnx.stem}.weights.h5) "
                           f"to fine-tune from; retrain with `{found.meta.command}` and `zoo ship` it")
    model = build(task, found.meta.arch, **{**found.meta.extra.get("hparams", {}), **hparams})
    model.load_weights(keras_weights)
    return model


#: the library under each command: public name -> (module, function), imported on first use
_COMMANDS = {
    "bench": ("zoo.throughput", "bench"),
    "evaluate": ("zoo.evaluation", "evaluate"),
    "export": ("zoo.onnx_export", "export"),
    "kfold": ("zoo.cross_validation", "kfold"),
    "quantize": ("zoo.int8", "quantize"),
    "train": ("zoo.training", "fit"),
    "tune": ("zoo.tuning", "tune"),
}


def __getattr__(name: str) -> Any:
    if name in _COMMANDS:
        import importlib

        module, function = _COMMANDS[name]
        return getattr(importlib.import_module(module), function)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_COMMANDS])


__all__ = [
    "Dataset", "InputSpec", "OutputSpec", "Prediction", "Predictor", "Recipe", "Sample", "Split",
    "Task", "WeightSet", "WeightsMeta", "create_model", "get_task", "list_models", "list_tasks",
    "list_weights", "load", "register_model", "register_task", *_COMMANDS,
]
