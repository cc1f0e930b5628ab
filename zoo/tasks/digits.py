"""digits: scikit-learn's bundled 8x8 handwritten digits (real data, works offline).

The data set is the UCI optical-digits test set (1,797 images of 8x8 pixels with values
0-16, ink bright) that ships inside scikit-learn. The split is stratified and seeded:
64% train, 16% validation, 20% test. The classical baseline is scikit-learn's SVC
(gamma=0.001, as in scikit-learn's own digits example) fitted on the same training split.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from zoo.errors import InputError
from zoo.io.images import ink_bright, open_sized, to_gray
from zoo.registry import register_model, register_task
from zoo.task import Dataset, InputSpec, Recipe, Sample, Split, Task

ACCEPTED_MODES = ("L", "LA", "RGB", "RGBA", "P")


@register_task
class Digits(Task):
    name = "digits"
    kind = "classification"
    description = "Handwritten digits 0-9 from scikit-learn's bundled 8x8 data set"
    inputs = (InputSpec("image", (8, 8, 1), description="8x8 gray, ink bright, scaled to [0, 1]"),)
    classes = tuple(str(i) for i in range(10))
    preprocessing = "digits-gray8x8-v1"
    preprocessing_doc = (
        "An 8x8 PNG (gray, RGB or RGBA) is converted to luminance; if most of it is bright "
        "(dark ink on white paper) it is inverted so that ink is bright as in the data set; "
        "values are scaled to [0, 1] (the data set's 0-16 divided by 16). Other sizes are "
        "rejected rather than silently resized."
    )
    data_sources = {"default": "sklearn.datasets.load_digits (bundled with scikit-learn)"}
    recipe = Recipe(optimizer="adam", learning_rate=2e-3, lr_schedule="plateau", epochs=100,
                    batch_size=32, early_stopping_patience=15, monitor="val_loss", seed=0)
    default_arch = "cnn"
    default_weights = "digits-cnn"
    data_options: ClassVar[Mapping[str, type] | None] = {}
    reference = "scikit-learn SVC(gamma=0.001) on the same split (see zoo/cards/digits.md)"

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        image = open_sized(sample.sources[0], (8, 8), "digits", ACCEPTED_MODES)
        gray = ink_bright(to_gray(image))
        return {"image": gray[..., None]}

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Brightness, smoothness and centring of the image (:func:`zoo.ood.image_evidence`)."""
        from zoo.ood import image_evidence

        return image_evidence(inputs["image"])

    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        if source is not None:
            raise InputError(source, "digits uses scikit-learn's bundled data; --data is not accepted")
        bunch = load_digits()
        x = (bunch.images.astype(np.float32) / 16.0)[..., None]
        y = bunch.target.astype(np.int64)
        idx = np.arange(len(y))
        rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=0.2, stratify=y[rest], random_state=seed)

        def split(sel: np.ndarray) -> Split:
            return Split({"image": x[sel]}, y[sel], ids=sel)

        return Dataset(split(train), split(val), split(test),
                       source={"type": "sklearn.datasets.load_digits", "simulated": False,
                               "n_samples": int(len(y)), "split_seed": seed,
                               "split": "stratified 64/16/20 train/validation/test"})

    def baseline(self, data: Dataset) -> dict[str, Any]:
        from sklearn.metrics import accuracy_score
        from sklearn.svm import SVC

        flat = {k: s.x["image"].reshape(len(s), -1) for k, s in
                (("train", data.train), ("test", data.test))}
        svc = SVC(gamma=0.001 * 256).fit(flat["train"], data.train.y)  # gamma for 0-16 data, rescaled
        return {"method": "sklearn SVC(gamma=0.001) on 0-16 pixels, fitted on the train split",
                "accuracy": float(accuracy_score(data.test.y, svc.predict(flat["test"])))}


@register_model("digits", "dense")
def dense(task: Task, units: int = 64, dropout: float = 0.1) -> Any:
    """Dense net after the textbook MNIST models: flatten -> 64 ReLU -> dropout -> softmax."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Flatten()(inp)
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inp, classifier_head(x, task), name="digits_dense")


@register_model("digits", "cnn")
def cnn(task: Task, filters: int = 64, dropout: float = 0.25) -> Any:
    """Small CNN sized for 8x8: two 3x3 conv blocks (64, 128) with pooling, dropout, softmax."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(2 * filters, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inp, classifier_head(x, task), name="digits_cnn")
