"""Inputs named after the task's InputSpec, so ONNX graphs carry the task's input names."""

from __future__ import annotations

from typing import Any

from zoo.task import Task


def task_inputs(task: Task) -> list[Any]:
    import keras

    return [keras.Input(shape=spec.shape, name=spec.name) for spec in task.inputs]


def classifier_head(x: Any, task: Task, name: str = "probabilities") -> Any:
    """Softmax over the task's classes, or one sigmoid unit for a binary task."""
    import keras

    if task.kind == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name=name)(x)
    return keras.layers.Dense(len(task.classes), activation="softmax", name=name)(x)
