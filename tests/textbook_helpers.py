"""Tiny files in the exact formats of Keras' dataset cache, for the textbook-task tests.

Each writer produces what ``keras.datasets`` would leave in ``~/.keras/datasets/`` (same file
names, keys, headers and pickle layout), only with a handful of samples.
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np

WORDS = ["the", "film", "was", "movie", "and", "wonderful", "awful", "great", "boring", "plot",
         "oil", "wheat", "price", "shares", "profit"]
WORD_INDEX = {w: i + 1 for i, w in enumerate(WORDS)}  # rank 1 = most frequent, as Keras'


def digit_images(n: int, rng: np.random.Generator, size: int = 28, channels: int = 0,
                 n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images whose bright square position encodes the label (learnable in a step)."""
    y = np.arange(n) % n_classes
    shape = (n, size, size) + ((channels,) if channels else ())
    x = rng.integers(0, 40, shape, dtype=np.uint8)
    for i, label in enumerate(y):
        r, c = divmod(int(label), 4)
        x[i, 2 + 6 * r:6 + 6 * r, 2 + 6 * c:6 + 6 * c] = 255
    return x, y.astype(np.uint8)


def write_mnist(folder: Path, n_train: int = 40, n_test: int = 20, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x_train, y_train = digit_images(n_train, rng)
    x_test, y_test = digit_images(n_test, rng)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def _idx(path: Path, array: np.ndarray) -> None:
    magic = 2051 if array.ndim == 3 else 2049
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(folder: Path, n_train: int = 40, n_test: int = 20) -> Path:
    """The Keras cache layout: ``<folder>/fashion-mnist/<4 gz files>``."""
    rng = np.random.default_rng(1)
    target = folder / "fashion-mnist"
    target.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        x, y = digit_images(n, rng)
        _idx(target / f"{part}-images-idx3-ubyte.gz", x)
        _idx(target / f"{part}-labels-idx1-ubyte.gz", y)
    return target


def write_cifar10(folder: Path, per_batch: int = 8) -> Path:
    """``cifar-10-batches-py``: pickled dicts with bytes keys, as the real batches (which
    Python 2 wrote; protocol 3 is the Python 3 protocol with the same opcodes for bytes)."""
    rng = np.random.default_rng(2)
    target = folder / "cifar-10-batches-py"
    target.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = digit_images(per_batch, rng, size=32, channels=3)
        data = x.transpose(0, 3, 1, 2).reshape(per_batch, 3072)
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": data,
                 b"filenames": [f"{i}.png".encode() for i in range(per_batch)]}
        with open(target / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=3)
    return target


def reviews(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Object array of word-rank lists (as in imdb.npz) and 0/1 labels."""
    y = np.arange(n) % 2
    seqs = np.empty(n, dtype=object)
    for i, label in enumerate(y):
        core = [WORD_INDEX["wonderful" if label else "awful"]] * 2
        seqs[i] = core + [int(v) for v in rng.integers(1, 6, 5)]
    return seqs, y.astype(np.int64)


def write_imdb(folder: Path, n_train: int = 24, n_test: int = 12) -> Path:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = reviews(n_train, rng)
    x_test, y_test = reviews(n_test, rng)
    path = folder / "imdb.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (folder / "imdb_word_index.json").write_text(json.dumps(WORD_INDEX))
    return path


def write_reuters(folder: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(4)
    folder.mkdir(parents=True, exist_ok=True)
    y = np.arange(n) % 46
    x = np.empty(n, dtype=object)
    for i in range(n):
        x[i] = [int(v) for v in rng.integers(1, len(WORDS) + 1, 6)]
    path = folder / "reuters.npz"
    np.savez(path, x=x, y=y.astype(np.int64))
    (folder / "reuters_word_index.json").write_text(json.dumps(WORD_INDEX))
    return path


def write_boston(folder: Path, n: int = 50) -> Path:
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True, exist_ok=True)
    x = rng.normal(size=(n, 13)) * np.arange(1, 14) + 10 * np.arange(13)
    y = 20 + 3 * (x[:, 5] - 50) / 6 + rng.normal(size=n)
    path = folder / "boston_housing.npz"
    np.savez(path, x=x, y=y)
    return path
