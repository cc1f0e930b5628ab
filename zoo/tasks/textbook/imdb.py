"""imdb: movie-review sentiment with the multi-hot dense nets of seed 004 (sections 4 and 6).

``keras.datasets.imdb.load_data(num_words=10000)`` gives each review as word indices; the
book turns them into 10,000-dim multi-hot vectors (``vectorize_sequences``) and trains
16 ReLU -> 16 ReLU -> 1 sigmoid with RMSprop, batch 512, holding out the first 10,000
training reviews for validation. Section 6 adds the L2 (0.001) and dropout (0.5) variants and
early stopping. ``zoo predict imdb "this film was wonderful"`` encodes text the same way (see
:func:`zoo.io.keras_datasets.encode`).
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model, register_task
from zoo.task import InputSpec, Recipe, Task
from zoo.tasks.textbook.base import KerasTextTask

TEXT_DOC = (
    "Text is lower-cased, punctuation removed (apostrophes inside words kept), split on "
    "whitespace; each word becomes Keras' index word_index[word] + 3 (0 pad, 1 start, 2 "
    "unknown), indices >= 10000 become 2, a start index 1 is prepended; the multi-hot vector "
    "has 1 at every index present (the book's vectorize_sequences)."
)


@register_task
class Imdb(KerasTextTask):
    name = "imdb"
    kind = "binary"
    description = "IMDB review sentiment, multi-hot 10,000-word dense nets (seed 004)"
    inputs = (InputSpec("multi_hot", (10000,), description="multi-hot word vector, 10,000 words"),)
    classes = ("negative", "positive")
    preprocessing = "imdb-multihot10000-v1"
    preprocessing_doc = TEXT_DOC
    keras_name = "imdb"
    word_index_file = "imdb_word_index.json"
    val_size, val_fraction = 10000, 0.4
    data_sources = {
        "default": "keras.datasets.imdb: imdb.npz (+ imdb_word_index.json for text "
                   "prediction) in --data or ~/.keras/datasets/",
    }
    recipe = Recipe(optimizer="rmsprop", learning_rate=1e-3, epochs=20, batch_size=512,
                    loss="binary_crossentropy", metrics=("accuracy",), monitor="val_loss",
                    early_stopping_patience=3, seed=0)
    default_arch = "dense"
    headline_metric = "accuracy"
    reference = "seed 004 sections 4 and 6 (curves only; no test figure printed in the seed)"


def _dense_stack(task: Task, units: int, l2: float, dropout: float, name: str) -> Any:
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    regularizer = keras.regularizers.l2(l2) if l2 else None
    x = inp
    for _ in range(2):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inp, classifier_head(x, task), name=name)


@register_model("imdb", "dense", description="10000 -> 16 ReLU -> 16 ReLU -> 1 sigmoid, RMSprop, "
                                             "batch 512 (160,305 params)")
def dense(task: Task, units: int = 16) -> Any:
    """The book's first IMDB network."""
    return _dense_stack(task, units, 0.0, 0.0, "imdb_dense")


@register_model("imdb", "l2", description="10000 -> 8 ReLU -> 8 ReLU -> 1, L2(0.001) on the "
                                          "hidden kernels, as in seed 004 (80,089 params)")
def l2(task: Task, units: int = 8, l2: float = 0.001) -> Any:
    """Weight regularisation variant (seed 004 prints 8 units; --hp-units 16 for 16)."""
    return _dense_stack(task, units, l2, 0.0, "imdb_l2")


@register_model("imdb", "dropout", description="10000 -> 16 ReLU -> dropout 0.5 -> 16 ReLU -> "
                                               "dropout 0.5 -> 1 sigmoid (160,305 params)")
def dropout(task: Task, units: int = 16, rate: float = 0.5) -> Any:
    """Dropout variant of the book's IMDB network."""
    return _dense_stack(task, units, 0.0, rate, "imdb_dropout")
