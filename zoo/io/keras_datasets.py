"""Keras' dataset cache files read with numpy, gzip and pickle only (no TensorFlow).

``keras.datasets`` downloads MNIST, Fashion-MNIST, CIFAR-10, IMDB, Reuters and Boston housing
into ``$KERAS_HOME/datasets`` (``~/.keras/datasets``). Machines without internet cannot
download, so the same files can be handed over with ``--data``. The readers here reproduce
``keras.datasets.<name>.load_data()`` on those files (same shuffles, seeds and index shifts),
so a model trained from a file gets exactly the arrays Keras would have given it.

Lookup order: ``--data`` (a file or a folder), then Keras' cache, then (only if Keras is
installed and ``download`` is true) ``keras.datasets.<name>.load_data()`` itself. When all fail
the error names the exact file and the folder to put it in.

Pickled object arrays (IMDB, Reuters) and CIFAR batches are unpickled with a restricted
unpickler that only rebuilds numpy arrays, as Keras itself does: a tampered file cannot run
code.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.io.files import check_input_file

Arrays = tuple[tuple[Any, np.ndarray], tuple[Any, np.ndarray]]

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: Keras' own defaults for the text sets: 0 = padding, 1 = start of text, 2 = out of vocabulary,
#: word ranks shifted by 3 (``index_from``).
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3


@dataclass(frozen=True)
class KerasDataset:
    """One ``keras.datasets`` module: the files it needs and where Keras keeps them."""

    name: str
    files: tuple[str, ...]
    #: sub-folders of a given folder (or of the cache) that may hold the files; "" = itself
    folders: tuple[str, ...]
    origin: str
    optional: tuple[str, ...] = ()


CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DATASETS: dict[str, KerasDataset] = {
    "mnist": KerasDataset("mnist", ("mnist.npz",), ("",), KERAS_ORIGIN + "mnist.npz"),
    "fashion_mnist": KerasDataset("fashion_mnist", FASHION_FILES, ("", "fashion-mnist"),
                                  KERAS_ORIGIN + "<each file name>"),
    "cifar10": KerasDataset(
        "cifar10", CIFAR_BATCHES,
        ("", "cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py"),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extracted)"),
    "imdb": KerasDataset("imdb", ("imdb.npz",), ("",), KERAS_ORIGIN + "imdb.npz",
                         optional=("imdb_word_index.json",)),
    "reuters": KerasDataset("reuters", ("reuters.npz",), ("",), KERAS_ORIGIN + "reuters.npz",
                            optional=("reuters_word_index.json",)),
    "boston_housing": KerasDataset("boston_housing", ("boston_housing.npz",), ("",),
                                   KERAS_ORIGIN + "boston_housing.npz"),
}


def cache_dir() -> Path:
    """Keras' download cache: ``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home).expanduser() / "datasets"


def _in_folder(root: Path, spec: KerasDataset) -> Path | None:
    for sub in spec.folders:
        folder = root / sub if sub else root
        if all((folder / name).is_file() for name in spec.files):
            return folder
    return None


def _subfolder(spec: KerasDataset) -> str:
    """The sub-folder to recommend: the first named one (the classic Keras layout)."""
    return next((sub for sub in spec.folders if sub), "")


def _placement(spec: KerasDataset) -> str:
    where = _subfolder(spec)
    names = ", ".join(spec.files)
    if where:
        return f"{where}/{{{names}}}" if len(spec.files) > 1 else f"{where}/{names}"
    return names


def locate(name: str, data: str | Path | None) -> dict[str, Path] | None:
    """Paths of the files of data set ``name``: from ``data`` if given, else Keras' cache.

    Returns None when nothing was given and the cache lacks the files; a given ``data`` that
    does not hold them raises :class:`InputError` naming what is missing.
    """
    spec = DATASETS[name]
    if data is not None:
        root = Path(data).expanduser()
        if not root.exists():
            raise InputError(root, "no such file or folder")
        if root.is_file():
            if len(spec.files) != 1:
                raise InputError(root, f"{name} needs a folder holding {', '.join(spec.files)}; "
                                       "pass that folder with --data")
            found = {spec.files[0]: root}
            found.update({o: root.parent / o for o in spec.optional if (root.parent / o).is_file()})
            return found
        folder = _in_folder(root, spec)
        if folder is None:
            missing = [f for f in spec.files if not (root / f).is_file()]
            raise InputError(root, f"missing {', '.join(missing)}; {name} expects "
                                   f"{_placement(spec)} in this folder")
    else:
        folder = _in_folder(cache_dir(), spec)
        if folder is None:
            return None
    found = {f: folder / f for f in spec.files}
    found.update({o: folder / o for o in spec.optional if (folder / o).is_file()})
    return found


def sha256(path: Path) -> str:
    check_input_file(path)  # a FIFO given as --data must not block the hash
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load(name: str, data: str | Path | None = None, download: bool = True,
         **reader_options: Any) -> tuple[Arrays, dict[str, Any]]:
    """``(x_train, y_train), (x_test, y_test)`` of data set ``name`` and a description of the
    source (files with sha256, or the Keras download) for the weights metadata."""
    spec = DATASETS[name]
    paths = locate(name, data)
    if paths is not None:
        arrays = READERS[name](paths, **reader_options)
        files = {key: {"path": str(p), "sha256": sha256(p)} for key, p in paths.items()
                 if p.is_file()}
        return arrays, {"type": f"keras.datasets.{name}", "simulated": False, "files": files}
    problem = "not downloaded"
    if download:
        downloaded, problem = _download(name, reader_options)
        if downloaded is not None:
            return downloaded, {"type": f"keras.datasets.{name}", "simulated": False,
                            "downloaded_by": f"keras.datasets.{name}.load_data()"}
    cache = cache_dir()
    raise InputError(cache / _subfolder(spec) / spec.files[0], (
        f"not found ({problem}); put {_placement(spec)} (Keras' cache format, from "
        f"{spec.origin}) into {cache}/ or pass --data FILE_OR_FOLDER"))


def _download(name: str, reader_options: Mapping[str, Any]) -> tuple[Arrays | None, str]:
    """Let Keras download the set itself; returns (arrays, "") or (None, why it failed)."""
    if importlib.util.find_spec("keras") is None:
        return None, "Keras is not installed, so it cannot be downloaded"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras

        module = getattr(keras.datasets, name)
        kwargs = {k: v for k, v in reader_options.items() if k == "num_words"}
        return module.load_data(**kwargs), ""
    except Exception as exc:  # Keras raises plain Exception("URL fetch failure ...")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"download through keras.datasets failed: {reason[:160]}"


# ---- safe npz / pickle --------------------------------------------------------------------

_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, lists, dicts and scalars; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_npy(fp: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:  # object array: skip the header, then unpickle restrictedly
        fp.seek(0)
        version = np.lib.format.read_magic(fp)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(fp)
        else:
            np.lib.format.read_array_header_2_0(fp)
        return _NumpyOnlyUnpickler(fp).load()


def read_npz(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Arrays ``keys`` of an ``.npz`` file; any problem becomes one InputError line.

    The archive's headers are checked first (a truncated zip, arrays over ``max_bytes``);
    object arrays (IMDB's and Reuters' sequences) pass, to the restricted unpickler.
    """
    from zoo.io.npz import npz_headers

    npz_headers(path, allow_objects=True)
    keys = list(keys)
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {m.removesuffix(".npy"): m for m in archive.namelist() if m.endswith(".npy")}
            missing = [k for k in keys if k not in members]
            if missing:
                raise InputError(path, f"missing array {missing[0]!r} (expected arrays "
                                       f"{', '.join(keys)}; found {', '.join(members) or 'none'})")
            for key in keys:
                with archive.open(members[key]) as raw:
                    arrays[key] = _read_npy(io.BytesIO(raw.read()))
    except InputError:
        raise
    except zipfile.BadZipFile:
        raise InputError(path, "not a valid .npz file (not a zip archive)") from None
    except (pickle.UnpicklingError, ValueError, EOFError, OSError) as exc:
        raise InputError(path, f"corrupt or unsafe .npz member ({exc})") from None
    return arrays


def _check_labels(path: Path, x: Any, y: np.ndarray, key: str) -> np.ndarray:
    y = np.asarray(y)
    if len(y) != len(x):
        raise InputError(path, f"{key} has {len(y)} labels for {len(x)} samples")
    return y


def _check_images(path: Path, x: np.ndarray, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        want = ", ".join(str(s) for s in shape)
        raise InputError(path, f"{key} has shape {tuple(x.shape)}, expected (N, {want})")
    return x


# ---- readers: one per keras.datasets module ------------------------------------------------

def read_mnist(paths: Mapping[str, Path]) -> Arrays:
    """``mnist.npz``: uint8 images (N, 28, 28) and labels, as ``keras.datasets.mnist``."""
    path = paths["mnist.npz"]
    f = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    out = []
    for part in ("train", "test"):
        x = _check_images(path, np.asarray(f[f"x_{part}"]), f"x_{part}", (28, 28))
        out.append((x, _check_labels(path, x, f[f"y_{part}"], f"y_{part}")))
    return out[0], out[1]


def _read_idx(path: Path, magic: int, dims: int) -> np.ndarray:
    check_input_file(path, whole=True)
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise InputError(path, f"not a readable gzip file ({exc})") from None
    header = 4 + 4 * dims
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != magic:
        raise InputError(path, f"not an IDX file (magic number {magic} expected)")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    body = np.frombuffer(raw, np.uint8, offset=header)
    if body.size != int(np.prod(shape)):
        raise InputError(path, f"IDX header says {shape} but holds {body.size} bytes (truncated?)")
    return body.reshape(shape)


def read_fashion_mnist(paths: Mapping[str, Path]) -> Arrays:
    """The four IDX gz files of Fashion-MNIST, as ``keras.datasets.fashion_mnist``."""
    out = []
    for part in ("train", "t10k"):
        images = paths[f"{part}-images-idx3-ubyte.gz"]
        x = _check_images(images, _read_idx(images, 2051, 3), "images", (28, 28))
        labels_path = paths[f"{part}-labels-idx1-ubyte.gz"]
        out.append((x, _check_labels(labels_path, x, _read_idx(labels_path, 2049, 1), "labels")))
    return out[0], out[1]


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    check_input_file(path, whole=True)
    try:
        with open(path, "rb") as fh:
            batch = _NumpyOnlyUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, OSError,
            AttributeError, IndexError) as exc:
        raise InputError(path, f"not a CIFAR-10 python batch ({exc})") from None
    if not isinstance(batch, dict):
        raise InputError(path, "not a CIFAR-10 python batch (expected a pickled dict)")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise InputError(path, "CIFAR-10 batch lacks 'data' or 'labels'")
    data = np.asarray(batch["data"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise InputError(path, f"'data' has shape {data.shape}, expected (N, 3072)")
    x = data.astype(np.uint8).reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1)
    return x, _check_labels(path, x, np.asarray(batch["labels"], dtype=np.uint8), "labels")


def read_cifar10(paths: Mapping[str, Path]) -> Arrays:
    """``cifar-10-batches-py``: 5 training batches and ``test_batch``, channels last,
    labels of shape (N, 1) as ``keras.datasets.cifar10`` returns them."""
    train = [_read_cifar_batch(paths[f"data_batch_{i}"]) for i in range(1, 6)]
    x_test, y_test = _read_cifar_batch(paths["test_batch"])
    x_train = np.concatenate([b[0] for b in train])
    y_train = np.concatenate([b[1] for b in train])
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def _shift_and_clip(sequences: Iterable[Any], num_words: int | None) -> list[list[int]]:
    """Keras' text conventions: start char, ranks + index_from, rare words -> OOV."""
    shifted = [[START_CHAR] + [int(w) + INDEX_FROM for w in seq] for seq in sequences]
    if not num_words:
        return shifted
    return [[w if w < num_words else OOV_CHAR for w in seq] for seq in shifted]


def _object_sequences(path: Path, array: np.ndarray, key: str) -> np.ndarray:
    if array.ndim != 1:
        raise InputError(path, f"{key} must be a 1-D array of word-index lists")
    for seq in array[:5]:
        if not hasattr(seq, "__len__"):
            raise InputError(path, f"{key} must hold word-index lists, found {type(seq).__name__}")
    return array


def read_imdb(paths: Mapping[str, Path], num_words: int | None = 10000, seed: int = 113) -> Arrays:
    """``imdb.npz`` as ``keras.datasets.imdb.load_data(num_words=...)``: both splits shuffled
    with one ``RandomState(113)``, ranks shifted by 3, start char 1, OOV 2."""
    path = paths["imdb.npz"]
    f = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    parts = []
    for part in ("train", "test"):
        x = _object_sequences(path, np.asarray(f[f"x_{part}"]), f"x_{part}")
        y = _check_labels(path, x, f[f"y_{part}"], f"y_{part}")
        order = np.arange(len(x))
        rng.shuffle(order)
        parts.append((_shift_and_clip(x[order], num_words), y[order]))
    return parts[0], parts[1]


def read_reuters(paths: Mapping[str, Path], num_words: int | None = 10000, seed: int = 113,
                 test_split: float = 0.2) -> Arrays:
    """``reuters.npz`` (arrays x, y) as ``keras.datasets.reuters.load_data``: shuffled with
    ``RandomState(113)``, shifted like IMDB, the last 20% is the test split."""
    path = paths["reuters.npz"]
    f = read_npz(path, ("x", "y"))
    x = _object_sequences(path, np.asarray(f["x"]), "x")
    y = _check_labels(path, x, f["y"], "y")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    seqs, y = _shift_and_clip(x[order], num_words), y[order]
    cut = int(len(seqs) * (1 - test_split))
    return (seqs[:cut], y[:cut]), (seqs[cut:], y[cut:])


def read_boston_housing(paths: Mapping[str, Path], seed: int = 113,
                        test_split: float = 0.2) -> Arrays:
    """``boston_housing.npz`` (x (N, 13), y (N,)) with Keras' split: shuffle with
    ``RandomState(113)``, first 80% train, rest test."""
    path = paths["boston_housing.npz"]
    f = read_npz(path, ("x", "y"))
    x = _check_images(path, np.asarray(f["x"], dtype=np.float64), "x", (13,))
    y = _check_labels(path, x, f["y"], "y").astype(np.float64)
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


READERS = {"mnist": read_mnist, "fashion_mnist": read_fashion_mnist, "cifar10": read_cifar10,
           "imdb": read_imdb, "reuters": read_reuters, "boston_housing": read_boston_housing}


# ---- text -> word indices -> multi-hot -----------------------------------------------------

_WORD_INDEX_CACHE: dict[tuple[str, float], dict[str, int]] = {}
_TOKEN = re.compile(r"[a-z0-9']+")


def read_word_index(path: str | Path) -> dict[str, int]:
    """A Keras word index (JSON ``{"word": rank}``, rank 1 = most frequent), cached per file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "word index not found")
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _WORD_INDEX_CACHE:
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(path, f"not a JSON word index ({exc})") from None
        if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
            raise InputError(path, 'word index must be a JSON object {"word": rank, ...}')
        _WORD_INDEX_CACHE[key] = index
    return _WORD_INDEX_CACHE[key]


def tokenize(text: str) -> list[str]:
    """Lower-case, drop punctuation (apostrophes inside words stay), split on whitespace."""
    return [t.strip("'") for t in _TOKEN.findall(text.lower()) if t.strip("'")]


def encode(text: str, word_index: Mapping[str, int], num_words: int) -> list[int]:
    """Text -> Keras indices: [1] + (rank + 3 for each word), unknown or rare words -> 2."""
    out = [START_CHAR]
    for word in tokenize(text):
        rank = word_index.get(word)
        index = rank + INDEX_FROM if rank is not None else OOV_CHAR
        out.append(index if index < num_words else OOV_CHAR)
    return out


def multi_hot(sequences: Iterable[Iterable[int]], dim: int) -> np.ndarray:
    """The textbook's ``vectorize_sequences`` as uint8 (a quarter of float32's memory)."""
    sequences = list(sequences)
    out = np.zeros((len(sequences), dim), dtype=np.uint8)
    for row, seq in enumerate(sequences):
        idx = np.asarray(list(seq), dtype=np.int64)
        out[row, idx[(idx >= 0) & (idx < dim)]] = 1
    return out
