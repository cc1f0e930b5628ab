"""cifar10: the multiclass CNN of seed 004 (section 7.9) on CIFAR-10.

The book's recipe: conv 32@3x3 (valid) ReLU -> max-pool 2 -> dropout 0.25 -> flatten ->
dense 512 ReLU -> dropout 0.5 -> softmax; RMSprop (Keras' defaults), batch 128, 20 epochs,
``validation_split=0.2``. Here the 20% validation part is held out from the training file
with the recipe seed; the test split is the file's ``test_batch``.
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model, register_task
from zoo.task import InputSpec, Recipe, Task
from zoo.tasks.textbook.base import KerasImageTask


@register_task
class Cifar10(KerasImageTask):
    name = "cifar10"
    kind = "classification"
    description = "CIFAR-10 32x32 colour images, the CNN of the Keras textbook (seed 004)"
    inputs = (InputSpec("image", (32, 32, 3), description="32x32 RGB in [0, 1]"),)
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
    preprocessing = "cifar10-rgb32-v1"
    preprocessing_doc = ("A 32x32 PNG or JPEG is converted to RGB (gray is replicated, alpha "
                         "dropped) and scaled to [0, 1]. Other sizes are rejected, not resized.")
    keras_name = "cifar10"
    val_fraction = 0.2
    data_sources = {
        "default": "keras.datasets.cifar10: the folder cifar-10-batches-py (data_batch_1..5, "
                   "test_batch) in --data or ~/.keras/datasets/",
    }
    recipe = Recipe(optimizer="rmsprop", learning_rate=1e-3, epochs=20, batch_size=128,
                    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                    monitor="val_loss", early_stopping_patience=None, seed=0)
    default_arch = "cnn"
    reference = "seed 004 section 7.9 (no test figure printed in the seed)"


@register_model("cifar10", "cnn", description="32@3x3 -> pool -> dropout 0.25 -> dense 512 -> "
                                              "dropout 0.5 -> softmax, RMSprop (3,692,938 params)")
def cnn(task: Task, dropout_conv: float = 0.25, dropout_dense: float = 0.5) -> Any:
    """The book's CIFAR-10 convnet with dropout after the conv block and the dense layer."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Conv2D(32, 3, activation="relu", padding="valid")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(dropout_conv)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(512, activation="relu")(x)
    x = keras.layers.Dropout(dropout_dense)(x)
    return keras.Model(inp, classifier_head(x, task), name="cifar10_cnn")
