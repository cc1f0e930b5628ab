"""reuters: 46-topic newswire classification with the multi-hot dense net of seed 004 (section 5).

``keras.datasets.reuters.load_data(num_words=10000)`` -> multi-hot 10,000 -> 64 ReLU -> 64 ReLU
-> 46 softmax, RMSprop, batch 512, 20 epochs, the first 1,000 training wires for validation.
Text is encoded exactly as for imdb, with ``reuters_word_index.json``.
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model, register_task
from zoo.task import InputSpec, Recipe, Task
from zoo.tasks.textbook.base import KerasTextTask
from zoo.tasks.textbook.imdb import TEXT_DOC

#: ``keras.datasets.reuters.get_label_names()``, in label order
TOPICS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi",
    "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei",
    "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


@register_task
class Reuters(KerasTextTask):
    name = "reuters"
    kind = "classification"
    description = "Reuters newswire topics (46), multi-hot 10,000-word dense net (seed 004)"
    inputs = (InputSpec("multi_hot", (10000,), description="multi-hot word vector, 10,000 words"),)
    classes = TOPICS
    preprocessing = "reuters-multihot10000-v1"
    preprocessing_doc = TEXT_DOC
    keras_name = "reuters"
    word_index_file = "reuters_word_index.json"
    val_size, val_fraction = 1000, 1000 / 8982  # the book: first 1,000 of 8,982
    data_sources = {
        "default": "keras.datasets.reuters: reuters.npz (+ reuters_word_index.json for text "
                   "prediction) in --data or ~/.keras/datasets/",
    }
    recipe = Recipe(optimizer="rmsprop", learning_rate=1e-3, epochs=20, batch_size=512,
                    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                    monitor="val_loss", early_stopping_patience=None, seed=0)
    default_arch = "dense"
    reference = "seed 004 section 5 (curves only; no test figure printed in the seed)"


@register_model("reuters", "dense", description="10000 -> 64 ReLU -> 64 ReLU -> 46 softmax, "
                                                "RMSprop, batch 512 (647,214 params)")
def dense(task: Task, units: int = 64) -> Any:
    """The book's Reuters network: hidden layers wider than the 46 classes."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Dense(units, activation="relu")(inp)
    x = keras.layers.Dense(units, activation="relu")(x)
    return keras.Model(inp, classifier_head(x, task), name="reuters_dense")
