"""Readers for the data Gravity Spy users hold; every path ends in the same arrays.

* ``trainingsetv1d1.h5`` (Zenodo 1476551): ``f[label][split][id]["0.5.png" ...]``, each
  (1, 140, 170) gray in [0, 1], with the train / validation / test split of the paper;
  optionally its metadata CSV. The built-in simulator writes this same layout, so simulated
  and real data go through :func:`read_gravityspy_h5` alike.
* A folder of Omega-scan PNGs ``<Class>/<IFO>_<ID>_spectrogram_<DUR>.png`` (optionally below
  ``train/``, ``validation/``, ``test/``), four durations per ID.
* Single files: a raw 800x600 Omega scan with axes, or an already-cropped spectrogram.

Preprocessing follows Gravity Spy's ``read_grayscale``: keep rows 66:532 and columns 105:671
(the plot area), convert RGB to gray with scikit-image's ``rgb2gray`` weights (ITU-R 709:
0.2125 R + 0.7154 G + 0.0721 B, which is what the published HDF5 pixels were made with; Pillow's
``convert("L")`` uses the 601 weights and would shift values by ~0.03), and rescale by 0.3
to 140x170 with Pillow's antialiasing bilinear filter on float pixels. Against
``skimage.transform.rescale(rgb2gray(crop), 0.3)`` this differs by <= 0.002 on average and
0.05 at worst on real scans (tests/test_glitch_task.py checks it).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from zoo.errors import InputError
from zoo.io.files import walk_files
from zoo.io.images import check_finite, open_image
from zoo.task import Dataset, Split
from zoo.tasks.glitch.constants import (
    CLASSES,
    CROP_COLS,
    CROP_ROWS,
    DURATIONS,
    IMAGE_SHAPE,
    RAW_SIZE,
    RESCALE,
    SPLITS,
)
from zoo.weights import sha256_file

#: skimage.color.rgb2gray weights (ITU-R 709), as Gravity Spy's preprocessing used.
LUMA_709 = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
#: Smallest already-cropped spectrogram accepted (pixels per side) before upscaling is silly.
MIN_SIDE = 32
VIEWS = ("single", "multiview")
MULTIVIEW_SHAPE = (2 * IMAGE_SHAPE[0], 2 * IMAGE_SHAPE[1])
SCAN_NAME = re.compile(
    r"^(?P<ifo>[A-Za-z0-9]+)_(?P<gid>.+)_spectrogram_(?P<dur>\d+(?:\.\d+)?)\.png$", re.IGNORECASE)


@dataclass(frozen=True)
class ScanName:
    """The parts of a Gravity Spy file name ``IFO_ID_spectrogram_DUR.png``."""

    ifo: str
    gid: str
    duration: str


def parse_scan_name(path: str | Path) -> ScanName | None:
    """Split a Gravity Spy file name; None when the name does not follow the convention."""
    match = SCAN_NAME.match(Path(path).name)
    if match is None:
        return None
    try:
        duration = f"{float(match['dur']):.1f}"
    except ValueError:
        return None
    return ScanName(match["ifo"], match["gid"], duration)


def _gray(image: Image.Image) -> np.ndarray:
    """Float gray in [0, 1]; RGB(A) and palette images through the 709 luma weights."""
    if image.mode in ("I;16", "I;16B", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        return arr / max(float(arr.max()), 1.0)
    if image.mode in ("L", "LA"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return (rgb @ LUMA_709) / 255.0


def _resize(gray: np.ndarray) -> np.ndarray:
    """Resize to 140x170 exactly as scikit-image's ``rescale``/``resize`` does it.

    Gravity Spy's ``read_grayscale`` calls ``skimage.transform.rescale(img, 0.3,
    mode="constant")``: a Gaussian anti-aliasing blur (sigma = (factor - 1) / 2) followed by
    bilinear interpolation on the pixel grid. The same two scipy.ndimage calls reproduce it
    to 1e-7, so zoo's labels equal Gravity Spy's without needing scikit-image.
    """
    if gray.shape == IMAGE_SHAPE:
        return gray.astype(np.float32)
    data = gray.astype(np.float64)
    factors = np.asarray(data.shape, dtype=np.float64) / np.asarray(IMAGE_SHAPE, dtype=np.float64)
    blurred = ndimage.gaussian_filter(data, np.maximum(0.0, (factors - 1) / 2), mode="constant")
    zoom = [out / size for out, size in zip(IMAGE_SHAPE, data.shape, strict=True)]
    resized = ndimage.zoom(blurred, zoom, order=1, mode="grid-constant", grid_mode=True)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def preprocess_omega_scan(path: str | Path, image: Image.Image | None = None) -> np.ndarray:
    """A raw 800x600 Omega-scan PNG -> (140, 170) float32 in [0, 1], as Gravity Spy does it.

    ``image`` is the already-decoded file when the caller has it (decoding is most of the cost).
    """
    image = image if image is not None else open_image(path)
    if image.size != RAW_SIZE:
        raise InputError(path, f"image is {image.width}x{image.height}; a raw Omega scan is "
                               f"{RAW_SIZE[0]}x{RAW_SIZE[1]}")
    box = (CROP_COLS[0], CROP_ROWS[0], CROP_COLS[1], CROP_ROWS[1])
    return check_finite(path, _resize(_gray(image.crop(box))))


GRAVITYSPY_REFERENCE = ("Gravity Spy read_grayscale (skimage imread, crop, rgb2gray, "
                        "rescale 0.3) + keras predict per file")


def gravityspy_reference_read(path: str) -> dict[str, np.ndarray]:
    """Gravity Spy's own ``read_grayscale`` (scikit-image), the reference for benchmarks.

    imread, crop rows 66:532 / columns 105:671, ``rgb2gray``, ``rescale(0.3)``; needs
    scikit-image (test extra). zoo's own reader is :func:`preprocess_omega_scan` (Pillow).
    """
    from skimage import io
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    image = io.imread(path)[CROP_ROWS[0]:CROP_ROWS[1], CROP_COLS[0]:CROP_COLS[1], :3]
    gray = rescale(rgb2gray(image), RESCALE, mode="constant", preserve_range=True)
    return {"image": np.asarray(gray, dtype=np.float32)[..., None]}


def read_spectrogram(path: str | Path) -> tuple[np.ndarray, str]:
    """One PNG -> ((140, 170) float32, what kind of input it was).

    800x600 images are raw Omega scans and are cropped to the plot area first; any other
    size of at least 32x32 is taken as an already-cropped spectrogram and resized.
    """
    image = open_image(path)
    if image.size == RAW_SIZE:
        return preprocess_omega_scan(path, image), "raw Omega scan 800x600 (cropped, gray, rescaled 0.3)"
    if min(image.size) < MIN_SIDE:
        raise InputError(path, f"image is {image.width}x{image.height}: too small for a "
                               f"spectrogram (raw Omega scans are 800x600; cropped ones need "
                               f">= {MIN_SIDE}x{MIN_SIDE})")
    note = "spectrogram 170x140" if image.size == IMAGE_SHAPE[::-1] else \
        f"cropped spectrogram {image.width}x{image.height} resized to 170x140"
    return check_finite(path, _resize(_gray(image))), note


def tile_views(views: Sequence[np.ndarray]) -> np.ndarray:
    """Four (140, 170) durations -> the (280, 340) mosaic: 0.5 | 1.0 over 2.0 | 4.0."""
    top = np.concatenate([views[0], views[1]], axis=-1)
    bottom = np.concatenate([views[2], views[3]], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def check_view(view: str, where: str) -> str:
    if view not in VIEWS:
        raise InputError(where, f"unknown view {view!r}; valid: {', '.join(VIEWS)}")
    return view


def check_duration(duration: str, where: str) -> str:
    """'all' or one of the four durations (numbers like 1 are accepted as 1.0)."""
    if duration == "all":
        return duration
    try:
        text = f"{float(duration):.1f}"
    except ValueError:
        text = str(duration)
    if text not in DURATIONS:
        valid = ", ".join(DURATIONS)
        raise InputError(where, f"unknown duration {duration!r}; valid: all, {valid}")
    return text


# ---- building splits ------------------------------------------------------------------------

class _SplitBuilder:
    """Collects (id, four views, label) rows and emits arrays for one view."""

    def __init__(self, view: str, duration: str):
        self.view, self.duration = view, duration
        self.images: list[np.ndarray] = []
        self.labels: list[int] = []
        self.ids: list[str] = []

    def add(self, gid: str, views: Sequence[np.ndarray], label: int) -> None:
        if self.view == "multiview":
            self.images.append(tile_views(views)[..., None])
            self.labels.append(label)
            self.ids.append(gid)
            return
        chosen = DURATIONS if self.duration == "all" else (self.duration,)
        for dur in chosen:
            self.images.append(views[DURATIONS.index(dur)][..., None])
            self.labels.append(label)
            self.ids.append(gid if self.duration != "all" else f"{gid}/{dur}")

    def build(self) -> Split:
        shape = (*(MULTIVIEW_SHAPE if self.view == "multiview" else IMAGE_SHAPE), 1)
        x = np.stack(self.images).astype(np.float32) if self.images else \
            np.zeros((0, *shape), np.float32)
        y = np.asarray(self.labels, dtype=np.int64)
        return Split({"image": x}, y, ids=np.asarray(self.ids))


def _label_index(label: str, classes: Sequence[str], positive: str | None) -> int:
    if positive is not None:
        return int(label == positive)
    return classes.index(label)


# ---- HDF5 (trainingsetv1d1 layout) ----------------------------------------------------------

def read_gravityspy_h5(path: str | Path, view: str = "single", classes: Sequence[str] = CLASSES,
                       metadata_csv: str | Path | None = None, duration: str = "all",
                       positive: str | None = None) -> Dataset:
    """Read a ``trainingsetv1d1.h5``-layout file, keeping the file's train/validation/test split.

    ``classes`` are the valid group names (targets are indices into them), or, with
    ``positive`` set, targets are 1 for that class and 0 for the rest. ``view`` "single"
    gives (140, 170, 1) images of ``duration`` ("all": each duration is its own sample, id
    ``ID/DUR``); "multiview" gives the (280, 340, 1) mosaic of the four durations.
    """
    import h5py

    path = Path(path)
    check_view(view, str(path))
    duration = check_duration(duration, str(path))
    if not path.is_file():
        raise InputError(path, "no such file")
    metadata = read_metadata_csv(metadata_csv, classes) if metadata_csv is not None else None
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not an HDF5 file ({exc})") from None
    builders = {split: _SplitBuilder(view, duration) for split in SPLITS}
    content = hashlib.sha256()  # HDF5 bytes carry timestamps; the pixels identify the data
    with handle:
        labels = sorted(handle.keys())
        if not labels:
            raise InputError(path, "not the trainingsetv1d1 layout: the file has no groups")
        unknown = [k for k in labels if k not in classes or not isinstance(handle[k], h5py.Group)]
        if unknown:
            raise InputError(path, f"not the trainingsetv1d1 layout: top-level keys {unknown[:5]} "
                                   f"are not Gravity Spy class groups (expected e.g. "
                                   f"{', '.join(classes[:3])})")
        for label in labels:
            group = handle[label]
            bad = [k for k in group if k not in SPLITS]
            if bad:
                raise InputError(path, f"group {label} has keys {bad[:5]}; "
                                       f"expected {'/'.join(SPLITS)}")
            for split in SPLITS:
                if split not in group:
                    continue
                for gid in sorted(group[split].keys()):
                    where = f"{label}/{split}/{gid}"
                    views = _h5_views(path, group[split][gid], where)
                    content.update(where.encode())
                    for image in views:
                        content.update(image.tobytes())
                    if metadata is not None and gid in metadata and metadata[gid] != label:
                        raise InputError(metadata_csv, f"id {gid} is labelled {metadata[gid]!r} "
                                                       f"but the HDF5 file has it under {label}")
                    builders[split].add(gid, views, _label_index(label, classes, positive))
    splits = {name: b.build() for name, b in builders.items()}
    empty = [name for name, s in splits.items() if len(s) == 0]
    if empty:
        raise InputError(path, f"split(s) {', '.join(empty)} hold no samples")
    source: dict[str, Any] = {"type": "gravityspy-h5", "path": str(path),
                              "sha256": sha256_file(path), "content_sha256": content.hexdigest(),
                              "simulated": False,
                              "options": {"view": view, "duration": duration}}
    if metadata_csv is not None:
        source["metadata"] = {"path": str(metadata_csv), "sha256": sha256_file(metadata_csv),
                              "rows": len(metadata or {})}
    return Dataset(splits["train"], splits["validation"], splits["test"], source=source)


def _h5_views(path: Path, node: Any, where: str) -> list[np.ndarray]:
    import h5py

    if not isinstance(node, h5py.Group):
        raise InputError(path, f"{where} is a dataset; expected a group of 0.5.png ... 4.0.png")
    views = []
    for dur in DURATIONS:
        key = f"{dur}.png"
        if key not in node:
            raise InputError(path, f"group {where} lacks {key}")
        raw = np.asarray(node[key])
        if raw.shape not in ((1, *IMAGE_SHAPE), IMAGE_SHAPE):
            raise InputError(path, f"{where}/{key} has shape {raw.shape}, expected (1, 140, 170)")
        arr = raw.reshape(IMAGE_SHAPE).astype(np.float32)
        if raw.dtype.kind in "ui":  # 8-bit pixels; the published file holds floats in [0, 1]
            arr /= 255.0
        views.append(check_finite(path, arr, f"{where}/{key} pixels"))
    return views


def read_metadata_csv(path: str | Path, classes: Sequence[str] = CLASSES) -> dict[str, str]:
    """``trainingset_v1d1_metadata.csv`` -> {gravityspy_id: label}; unknown labels are errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"gravityspy_id", "label"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(path, f"metadata CSV lacks column(s) {', '.join(sorted(missing))}")
            labels: dict[str, str] = {}
            for line, row in enumerate(reader, start=2):
                label = (row.get("label") or "").strip()
                if label not in classes:
                    raise InputError(path, f"line {line}: unknown class {label!r} in column label "
                                           "(not one of the 22 Gravity Spy classes)")
                labels[(row.get("gravityspy_id") or "").strip()] = label
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from None
    return labels


# ---- folders of PNGs ------------------------------------------------------------------------

def group_scans(paths: Iterable[Path], root: Path,
                classes: Sequence[str]) -> dict[tuple[str, str, str], dict[str, Path]]:
    """{(split or '', class, IFO_ID): {duration: path}} for a ``<split>/<Class>/...`` tree."""
    groups: dict[tuple[str, str, str], dict[str, Path]] = {}
    for path in paths:
        if path.suffix.lower() != ".png":
            continue
        parts = path.relative_to(root).parts[:-1]
        split = parts[0] if len(parts) >= 2 and parts[0] in SPLITS else ""
        label = parts[-1] if parts else ""
        if label not in classes:
            raise InputError(path, f"folder {label!r} is not a Gravity Spy class "
                                   f"(expected <Class>/IFO_ID_spectrogram_DUR.png)")
        name = parse_scan_name(path)
        if name is None:
            raise InputError(path, "file name is not IFO_ID_spectrogram_DUR.png")
        groups.setdefault((split, label, f"{name.ifo}_{name.gid}"), {})[name.duration] = path
    return groups


def read_png_folder(root: str | Path, view: str = "single", classes: Sequence[str] = CLASSES,
                    duration: str = "all", positive: str | None = None, seed: int = 0,
                    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> Dataset:
    """A folder of Gravity Spy PNGs -> Dataset; a seeded 70/15/15 split per class unless the
    folder has ``train/``, ``validation/`` and ``test/`` subfolders."""
    root = Path(root)
    check_view(view, str(root))
    duration = check_duration(duration, str(root))
    groups = group_scans(walk_files(root), root, classes)
    if not groups:
        raise InputError(root, "no Gravity Spy PNGs (<Class>/IFO_ID_spectrogram_DUR.png) found")
    assigned = _assign_splits(groups, seed, fractions)
    builders = {split: _SplitBuilder(view, duration) for split in SPLITS}
    for (split, label, gid), files in sorted(groups.items()):
        lacking = [d for d in DURATIONS if d not in files]
        if lacking:
            missing = ", ".join(d + " s" for d in lacking)
            raise InputError(root / label, f"sample {gid} lacks {missing}")
        views = [read_spectrogram(files[d])[0] for d in DURATIONS]
        target = _label_index(label, classes, positive)
        builders[assigned[(split, label, gid)]].add(gid, views, target)
    splits = {name: b.build() for name, b in builders.items()}
    return Dataset(splits["train"], splits["validation"], splits["test"],
                   source={"type": "gravityspy-png-folder", "path": str(root), "simulated": False,
                           "n_samples": len(groups), "split_seed": seed,
                           "options": {"view": view, "duration": duration}})


def _assign_splits(groups: Mapping[tuple[str, str, str], Any], seed: int,
                   fractions: tuple[float, float, float]) -> dict[tuple[str, str, str], str]:
    keys = sorted(groups)
    if all(k[0] for k in keys):
        return {k: k[0] for k in keys}
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, str, str], str] = {}
    for label in sorted({k[1] for k in keys}):
        members = [k for k in keys if k[1] == label]
        order = rng.permutation(len(members))
        n_train = int(round(fractions[0] * len(members)))
        n_val = int(round(fractions[1] * len(members)))
        for rank, idx in enumerate(order):
            out[members[idx]] = ("train" if rank < n_train else
                                 "validation" if rank < n_train + n_val else "test")
    return out
