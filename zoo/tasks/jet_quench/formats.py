"""The jet-quench file formats users hold, read and checked through one code path.

Jet images (what the simulator writes too):

* HDF5 (``.h5``/``.hdf5``) or NPZ (``.npz``) with ``images`` (N, 33, 33, 2) float pT per
  pixel (channel 0 charged, channel 1 neutral; each image is rescaled to unit sum on
  reading, so raw GeV or already-normalised images both work), ``labels`` (N,) in {0 = vacuum,
  1 = quenched}, optional ``weights`` (N,) >= 0 (per-jet physical weights) and optional
  ``split`` (N,) as 0/1/2 or "train"/"validation"/"test". Other fields are ignored.

Jet constituents (pixelised here by ``pixelise.py``):

* CSV with a header, or NPZ with one array per column, one row per constituent: ``jet``
  (jet id), ``pt``, ``eta``, ``phi`` and either ``charge`` (0 = neutral) or ``pid`` (PDG
  code); per-jet ``label`` (training only), optional ``weight`` and ``split``, repeated on
  the jet's rows (the first row of each jet counts).

Every problem raises :class:`InputError` naming the file and the field.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.io.files import check_input_file
from zoo.io.limits import limits, over_limit
from zoo.io.npz import NPZ_ERRORS, npz_headers
from zoo.tasks.jet_quench.pixelise import GRID, pixelise

IMAGE_SHAPE = (GRID, GRID, 2)
IMAGE_SUFFIXES = (".h5", ".hdf5", ".npz")
SPLITS = ("train", "validation", "test")
_SPLIT_CODES = {"train": 0, "validation": 1, "val": 1, "valid": 1, "test": 2}
# charged hadrons and leptons by |PDG id|: e, mu, pi+, K+, p, Sigma+-, Xi-, Omega-
CHARGED_PIDS = frozenset({11, 13, 211, 321, 2212, 3112, 3222, 3312, 3334})
BLOCK = 4096
#: declared image bytes per stored byte beyond which an HDF5 file is refused unread: the
#: simulator's gzip-compressed sparse jets come at ~38x; ten million empty jets in 1.4 KB
#: would otherwise be streamed for most of an hour
MAX_COMPRESSION = 1000


@dataclass
class JetFile:
    """Jet images with labels, weights and split of one file (all checked)."""

    images: np.ndarray
    labels: np.ndarray | None
    weights: np.ndarray | None
    split: np.ndarray | None  # 0 train, 1 validation, 2 test


# ------------------------------------------------------------------------------ checks
def check_images(path: str, images: np.ndarray, field: str = "images") -> np.ndarray:
    if images.ndim != 4 or images.shape[1:3] != (GRID, GRID):
        raise InputError(path, f"field '{field}' has shape {tuple(images.shape)}; expected "
                               f"(N, {GRID}, {GRID}, 2) jet images")
    if images.shape[3] != 2:
        raise InputError(path, f"field '{field}' has {images.shape[3]} channels; expected 2 "
                               "(charged pT, neutral pT)")
    if not np.issubdtype(images.dtype, np.number):
        raise InputError(path, f"field '{field}' is not numeric ({images.dtype})")
    bad = ~np.isfinite(images).reshape(len(images), -1).all(axis=1)
    if bad.any():
        raise InputError(path, f"field '{field}' has NaN/inf pixels (first in jet "
                               f"{int(np.argmax(bad))})")
    return normalise(images.astype(np.float32, copy=False))


def normalise(images: np.ndarray) -> np.ndarray:
    """Scale each image to unit total pT (the training convention), leaving empty ones at 0."""
    total = images.sum(axis=(1, 2, 3), keepdims=True)
    return np.divide(images, total, out=np.zeros_like(images), where=total > 0)


def check_labels(path: str, labels: np.ndarray, n: int, field: str = "labels") -> np.ndarray:
    labels = np.asarray(labels).reshape(-1) if np.ndim(labels) else np.asarray(labels)
    if labels.shape != (n,):
        raise InputError(path, f"field '{field}' has shape {labels.shape}; expected ({n},)")
    if not np.issubdtype(labels.dtype, np.number):
        raise InputError(path, f"field '{field}' is not numeric ({labels.dtype})")
    outside = np.unique(labels[~np.isin(labels, (0, 1))])
    if outside.size:
        shown = ", ".join(str(v) for v in outside[:5])
        raise InputError(path, f"field '{field}' has values outside {{0, 1}}: {shown}")
    return labels.astype(np.int64)


def check_weights(path: str, weights: np.ndarray, n: int, field: str = "weights") -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if weights.shape != (n,):
        raise InputError(path, f"field '{field}' has shape {weights.shape}; expected ({n},)")
    if not np.isfinite(weights).all():
        raise InputError(path, f"field '{field}' has NaN/inf values")
    if (weights < 0).any():
        raise InputError(path, f"field '{field}' has negative values (first in jet "
                               f"{int(np.argmax(weights < 0))})")
    if weights.sum() <= 0:
        raise InputError(path, f"field '{field}' sums to zero")
    return weights


def check_split(path: str, split: np.ndarray, n: int, field: str = "split") -> np.ndarray:
    split = np.asarray(split).reshape(-1)
    if split.shape != (n,):
        raise InputError(path, f"field '{field}' has shape {split.shape}; expected ({n},)")
    if split.dtype.kind in "SUO":
        text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in split.tolist()]
        names = np.char.lower(np.char.strip(np.asarray(text, dtype=str)))
        unknown = sorted(set(names.tolist()) - set(_SPLIT_CODES))
        if unknown:
            raise InputError(path, f"field '{field}' has unknown split names {unknown[:5]}; "
                                   "expected train/validation/test")
        return np.array([_SPLIT_CODES[s] for s in names], dtype=np.int64)
    if not np.isin(split, (0, 1, 2)).all():
        raise InputError(path, f"field '{field}' must hold 0/1/2 or train/validation/test")
    return split.astype(np.int64)


def _checked(path: str, fields: Mapping[str, Any], need_labels: bool) -> JetFile:
    if "images" not in fields:
        raise InputError(path, f"no 'images' field (found: {', '.join(sorted(fields)) or 'none'})")
    images = check_images(path, np.asarray(fields["images"]))
    n = len(images)
    if "labels" not in fields and need_labels:
        raise InputError(path, "no 'labels' field: training needs labels (0 vacuum, 1 quenched)")
    labels = check_labels(path, fields["labels"], n) if "labels" in fields else None
    weights = check_weights(path, fields["weights"], n) if "weights" in fields else None
    split = check_split(path, fields["split"], n) if "split" in fields else None
    return JetFile(images, labels, weights, split)


# ------------------------------------------------------------------------------ images
def _open_h5(path: str) -> Any:
    import h5py

    check_input_file(path)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None


def _open_npz(path: str) -> Any:
    """The NPZ file, once its headers have been checked (no object arrays, within limits)."""
    npz_headers(path)
    try:
        return np.load(path, allow_pickle=False)
    except NPZ_ERRORS as exc:
        raise InputError(path, f"not a readable NPZ file ({exc})") from None


def _npz_fields(path: str, npz: Any, names: Any) -> dict[str, np.ndarray]:
    try:
        return {k: np.asarray(npz[k]) for k in names}
    except NPZ_ERRORS as exc:  # truncated member, bad CRC
        raise InputError(path, f"unreadable field ({type(exc).__name__}: {exc})") from None


def _h5_images(path: str, h5: Any) -> Any:
    """The ``images`` dataset of an open HDF5 file, its declared shape checked (no data read)."""
    import h5py

    if "images" not in h5:
        raise InputError(path, f"no 'images' field (found: {', '.join(sorted(h5)) or 'none'})")
    data = h5["images"]
    if not isinstance(data, h5py.Dataset):
        raise InputError(path, "field 'images' is a group, not an array of jet images")
    if data.ndim != 4 or tuple(data.shape[1:3]) != (GRID, GRID):
        raise InputError(path, f"field 'images' has shape {tuple(data.shape)}; expected "
                               f"(N, {GRID}, {GRID}, 2) jet images")
    if data.shape[3] != 2:
        raise InputError(path, f"field 'images' has {data.shape[3]} channels; expected 2 "
                               "(charged pT, neutral pT)")
    if data.dtype.kind not in "fiub":
        raise InputError(path, f"field 'images' is not numeric ({data.dtype})")
    n = int(data.shape[0])
    if n > limits().max_samples:
        raise InputError(path, over_limit("declared jets", n, "max_samples"))
    stored = data.id.get_storage_size()
    if n and stored == 0:
        raise InputError(path, f"field 'images' declares {n:,} jets but stores no data")
    declared = n * math.prod(IMAGE_SHAPE) * data.dtype.itemsize
    if stored and declared / stored > MAX_COMPRESSION:
        raise InputError(path, f"field 'images' declares {n:,} jets ({declared / 1e9:.3g} GB) "
                               f"in {stored:,} stored bytes: not jet images (real files "
                               f"compress ~40x, at most {MAX_COMPRESSION}x is read)")
    return data


def read_images_file(path: str | Path, need_labels: bool = True) -> JetFile:
    """Read and check a whole HDF5/NPZ jet-image file."""
    path = str(path)
    if path.endswith(".npz"):
        with _open_npz(path) as npz:
            if "images" not in npz.files and "pt" in npz.files:
                return read_constituents_file(path, need_labels)
            fields = _npz_fields(path, npz, [k for k in npz.files
                                             if k in ("images", "labels", "weights", "split")])
        return _checked(path, fields, need_labels)
    with _open_h5(path) as h5:
        _h5_images(path, h5)
        fields = {k: h5[k][()] for k in ("images", "labels", "weights", "split") if k in h5}
    return _checked(path, fields, need_labels)


def write_images_file(path: str | Path, data: Mapping[str, np.ndarray],
                      attrs: Mapping[str, Any] | None = None) -> None:
    """Write the HDF5 image format atomically (tmp file + rename), compressed."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as h5:
            for key, value in data.items():
                value = np.asarray(value)
                opts = {"compression": "gzip", "shuffle": True} if value.ndim > 1 else {}
                if value.ndim > 1:
                    opts["chunks"] = (min(len(value), 1024), *value.shape[1:])
                h5.create_dataset(key, data=value, **opts)
            for key, value in (attrs or {}).items():
                h5.attrs[key] = value
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------- constituents
def _columns_csv(path: str) -> dict[str, np.ndarray]:
    check_input_file(path, whole=True)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from None
    if not header:
        raise InputError(path, "empty CSV file (expected a header: jet,pt,eta,phi,charge,...)")
    columns: dict[str, list[str]] = {h: [] for h in header}
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise InputError(path, f"line {line} has {len(row)} fields; header has {len(header)}")
        for h, value in zip(header, row, strict=True):
            columns[h].append(value.strip())
    out: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name == "split":
            out[name] = np.asarray(values)
            continue
        try:
            out[name] = np.asarray(values, dtype=np.float64)
        except ValueError:
            raise InputError(path, f"column '{name}' is not numeric") from None
    return out


def read_constituents_file(path: str | Path, need_labels: bool = True) -> JetFile:
    """Read a constituent CSV/NPZ and pixelise each jet into the standard image."""
    path = str(path)
    if path.endswith(".npz"):
        with _open_npz(path) as npz:
            cols = {k.lower(): v.reshape(-1) for k, v in _npz_fields(path, npz, npz.files).items()}
    else:
        cols = _columns_csv(path)
    for name in ("jet", "pt", "eta", "phi"):
        if name not in cols:
            raise InputError(path, f"no '{name}' column (found: {', '.join(sorted(cols))})")
    if "charge" in cols:
        charged = np.asarray(cols["charge"], dtype=np.float64) != 0
    elif "pid" in cols:
        charged = np.isin(np.abs(np.asarray(cols["pid"], dtype=np.int64)), list(CHARGED_PIDS))
    else:
        raise InputError(path, "no 'charge' or 'pid' column to tell charged from neutral")
    pt, eta, phi = (np.asarray(cols[k], dtype=np.float64) for k in ("pt", "eta", "phi"))
    for name, values in (("pt", pt), ("eta", eta), ("phi", phi)):
        if not np.isfinite(values).all():
            raise InputError(path, f"column '{name}' has NaN/inf values")
    if (pt < 0).any():
        raise InputError(path, f"column 'pt' has negative values (row {int(np.argmax(pt < 0))})")
    ids, first, inverse = np.unique(cols["jet"], return_index=True, return_inverse=True)
    order = np.argsort(first)  # jets in order of first appearance
    images = np.zeros((len(ids), *IMAGE_SHAPE), dtype=np.float32)
    for out_row, jet in enumerate(order):
        sel = inverse == jet
        images[out_row] = pixelise(pt[sel], eta[sel], phi[sel], charged[sel])
    fields: dict[str, Any] = {"images": images}
    for src, dst in (("label", "labels"), ("weight", "weights"), ("split", "split")):
        if src in cols:
            fields[dst] = np.asarray(cols[src])[first[order]]
    return _checked(path, fields, need_labels)


def read_any(path: str | Path, need_labels: bool = True) -> JetFile:
    """Images from an image file or a constituent file, by suffix (and NPZ content)."""
    text = str(path)
    if text.endswith((".h5", ".hdf5", ".npz")):
        return read_images_file(text, need_labels)
    if text.endswith(".csv"):
        return read_constituents_file(text, need_labels)
    raise InputError(text, "unsupported file type (expected .h5, .hdf5, .npz or .csv)")


# ----------------------------------------------------------------- streaming (predict)
def count_jets(path: str) -> int:
    """Number of jets in a file, cheaply for HDF5 (declared shape only, checked)."""
    check_input_file(path)
    if path.endswith((".h5", ".hdf5")):
        with _open_h5(path) as h5:
            return int(_h5_images(path, h5).shape[0])
    try:
        return len(_whole_file(path, os.path.getmtime(path)))
    except InputError:
        raise
    except Exception as exc:  # a reader gap must cost this file only, not the whole run
        raise InputError(path, f"unreadable ({type(exc).__name__}: {exc})") from None


@lru_cache(maxsize=4)
def _whole_file(path: str, mtime: float) -> np.ndarray:
    return read_any(path, need_labels=False).images


@lru_cache(maxsize=8)
def _h5_block(path: str, mtime: float, block: int) -> np.ndarray:
    with _open_h5(path) as h5:
        data = _h5_images(path, h5)
        return np.asarray(data[block * BLOCK:(block + 1) * BLOCK], dtype=np.float32)


def image_at(path: str, index: int) -> np.ndarray:
    """One jet image of a file (HDF5 read in blocks; other formats read once and cached)."""
    mtime = os.path.getmtime(path)
    if path.endswith((".h5", ".hdf5")):
        image = _h5_block(path, mtime, index // BLOCK)[index % BLOCK]
    else:
        image = _whole_file(path, mtime)[index]
    if not np.isfinite(image).all():
        raise InputError(f"{path}#{index}", "field 'images' has NaN/inf pixels")
    return normalise(image[None])[0]
