"""Glitch architectures: seed 000's small and deep CNNs and Gravity Spy's single/multi-view CNN.

Every builder imports Keras inside its body (registering stays TensorFlow-free) and names
its input ``image``. The multi-view model reads the 2x2 mosaic of the four durations
(280x340x1); its registration carries ``view="multiview"`` in its recipe, which is how
``zoo train glitch --arch multiview`` gets mosaic data (see ``GlitchTask.callbacks``).
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model
from zoo.task import Task
from zoo.tasks.glitch.constants import IMAGE_SHAPE
from zoo.tasks.glitch.formats import MULTIVIEW_SHAPE

TASKS = ("glitch", "glitch-chirp")
#: Gravity Spy trained with Keras' Adadelta at its Keras 1/2 default rate 1.0 (Keras 3's is 1e-3).
ADADELTA = {"optimizer": "adadelta", "learning_rate": 1.0}
#: Seed 000: RMSprop as in Chollet's MNIST example (small) and cats-vs-dogs example (deep).
RMSPROP_SMALL = {"optimizer": "rmsprop", "learning_rate": 1e-3}
RMSPROP_DEEP = {"optimizer": "rmsprop", "learning_rate": 1e-4}
#: Keras model names of the Gravity Spy CNNs, by architecture: inside ``multiview-ensemble``
#: they name its two member models (:mod:`zoo.tasks.glitch.ensemble` fills them by these)
MODEL_NAMES = {"singleview": "gravityspy_singleview", "multiview": "gravityspy_multiview"}


def _input(shape: tuple[int, int]) -> Any:
    import keras

    return keras.Input(shape=(*shape, 1), name="image")


def gravityspy_trunk(x: Any, l2: float = 1e-4, dense: int = 256, dropout: float = 0.5) -> Any:
    """Four 5x5 ReLU convolutions (16-32-64-64), each followed by 2x2 max-pooling, L2 1e-4 on
    every kernel, then a 256-unit ReLU layer and dropout 0.5 before the softmax."""
    import keras

    reg = keras.regularizers.L2(l2)
    for filters in (16, 32, 64, 64):
        x = keras.layers.Conv2D(filters, 5, activation="relu", kernel_regularizer=reg)(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense, activation="relu", kernel_regularizer=reg)(x)
    return keras.layers.Dropout(dropout)(x)


def singleview(task: Task, l2: float = 1e-4, dense: int = 256, dropout: float = 0.5) -> Any:
    """Gravity Spy single-view CNN on one 140x170 spectrogram (Adadelta)."""
    import keras

    from zoo.nets.common import classifier_head

    inp = _input(IMAGE_SHAPE)
    out = classifier_head(gravityspy_trunk(inp, l2, dense, dropout), task)
    return keras.Model(inp, out, name=MODEL_NAMES["singleview"])


def multiview(task: Task, l2: float = 1e-4, dense: int = 256, dropout: float = 0.5) -> Any:
    """Gravity Spy multi-view CNN: the same trunk on the 2x2 mosaic of the four durations."""
    import keras

    from zoo.nets.common import classifier_head

    inp = _input(MULTIVIEW_SHAPE)
    out = classifier_head(gravityspy_trunk(inp, l2, dense, dropout), task)
    return keras.Model(inp, out, name=MODEL_NAMES["multiview"])


def multiview_ensemble(task: Task, l2: float = 1e-4, dense: int = 256, dropout: float = 0.5
                       ) -> Any:
    """Both Gravity Spy CNNs on one four-duration event, their probabilities averaged.

    The multi-view CNN reads the mosaic; the single-view CNN reads each of its four durations
    (cropped from the mosaic inside the graph) and its four outputs are averaged. On real
    events held out from training the average beats the multi-view model alone and ties the
    single-view average, and on simulated events it beats both (the glitch card's class-halves
    cross-validation); one graph keeps the runtime one model per sample.
    :mod:`zoo.tasks.glitch.ensemble` fills it from two trained weight sets.
    """
    import keras

    height, width = IMAGE_SHAPE
    inp = _input(MULTIVIEW_SHAPE)
    single = singleview(task, l2, dense, dropout)
    views = [keras.layers.Cropping2D(((top, height - top), (left, width - left)))(inp)
             for top in (0, height) for left in (0, width)]
    per_duration = keras.layers.Average(name="singleview_mean")([single(v) for v in views])
    out = keras.layers.Average(name="ensemble_mean")(
        [multiview(task, l2, dense, dropout)(inp), per_duration])
    return keras.Model(inp, out, name="gravityspy_multiview_ensemble")


def small_cnn(task: Task) -> Any:
    """Seed 000's first CNN (after Chollet's MNIST net): 32-64-64 3x3 convs, dense 64."""
    import keras

    from zoo.nets.common import classifier_head

    inp = _input(IMAGE_SHAPE)
    x = keras.layers.Conv2D(32, 3, activation="relu")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model(inp, classifier_head(x, task), name="seed000_small_cnn")


def deep_cnn(task: Task) -> Any:
    """Seed 000's deeper CNN (after Chollet's cats-vs-dogs net): 32-64-128-128 3x3 convs with
    2x2 pooling, dense 512; the one that found 9/9 validation and 9/10 test chirps."""
    import keras

    from zoo.nets.common import classifier_head

    inp = _input(IMAGE_SHAPE)
    x = inp
    for filters in (32, 64, 128, 128):
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(512, activation="relu")(x)
    return keras.Model(inp, classifier_head(x, task), name="seed000_deep_cnn")


def _register() -> None:
    """Register the five builders for both glitch tasks with their recipes."""
    for task in TASKS:
        register_model(task, "singleview", recipe={**ADADELTA, "view": "single"})(singleview)
        register_model(task, "multiview", recipe={**ADADELTA, "view": "multiview"})(multiview)
        register_model(task, "multiview-ensemble",
                       recipe={**ADADELTA, "view": "multiview"})(multiview_ensemble)
        register_model(task, "small-cnn", recipe={**RMSPROP_SMALL, "view": "single"})(small_cnn)
        register_model(task, "deep-cnn", recipe={**RMSPROP_DEEP, "view": "single"})(deep_cnn)


_register()
