"""Readers for the data Gravity Spy users hold; every path ends in the same arrays.

* ``trainingsetv1d1.h5`` (Zenodo 1476551): ``f[label][split][id]["0.5.png" ...]``, each
  (1, 140, 170) gray in [0, 1], with the train / validation / test split of the paper;
  optionally its metadata CSV. The built-in simulator writes this same layout, so simulated
  and real data go through :func:`read_gravityspy_h5` alike.
* A labelled folder ``[split/]<Class>/<files>`` of scans in any form below
  (:func:`read_scan_folder`): ``IFO_ID_spectrogram_DUR.*`` files of one ID make one event,
  an event GIF is one event, a single scan is one event of one view.
* Single files (:func:`read_scan`, the one reader every path goes through): raw Omega-scan
  figures at any scale (800x600, 600x450, 752x564, 1600x1200) in PNG, JPEG or GIF; animated
  GIFs of the 4 durations; bare spectrograms (viridis or gray, 8 or 16 bit).

Preprocessing follows Gravity Spy's ``read_grayscale``: keep rows 66:532 and columns 105:671
(the plot area; on other scales the same box placed in proportion to the plot frame), convert
RGB to gray with scikit-image's ``rgb2gray`` weights (ITU-R 709:
0.2125 R + 0.7154 G + 0.0721 B, which is what the published HDF5 pixels were made with; Pillow's
``convert("L")`` uses the 601 weights and would shift values by ~0.03), and rescale by 0.3
to 140x170 as scikit-image's ``rescale`` does (Gaussian anti-aliasing + bilinear zoom): on
800x600 scans the result equals ``skimage.transform.rescale(rgb2gray(crop), 0.3)`` to 1e-6
(tests/test_glitch_task.py checks it).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zoo.errors import InputError
from zoo.io.files import check_input_name, expand_inputs, walk_files
from zoo.io.images import check_finite, open_image
from zoo.io.resample import rescale_like_skimage
from zoo.task import Dataset, Split
from zoo.tasks.glitch.constants import (
    CLASSES,
    CROP_COLS,
    CROP_ROWS,
    DURATIONS,
    IMAGE_SHAPE,
    RESCALE,
    SPLITS,
)
from zoo.tasks.glitch.layout import Layout, find_plot_area, on_map, reference_layout
from zoo.weights import sha256_file

#: skimage.color.rgb2gray weights (ITU-R 709), as Gravity Spy's preprocessing used.
LUMA_709 = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
#: Smallest already-cropped spectrogram accepted (pixels per side) before upscaling is silly.
MIN_SIDE = 32
#: A bare spectrogram has the plot area's proportions (width/height: 1.20 for the frame's
#: interior, 1.21 for Gravity Spy's crop and the 170x140 view); 4:3 screenshots fall outside.
BARE_ASPECT = (1.1, 1.3)
#: ... and nearly all of its pixels on viridis (a colour image), or R = G = B to within this.
BARE_ON_MAP = 0.9
GRAY_SPREAD = 8
VIEWS = ("single", "multiview")
MULTIVIEW_SHAPE = (2 * IMAGE_SHAPE[0], 2 * IMAGE_SHAPE[1])
SCAN_NAME = re.compile(
    r"^(?P<ifo>[A-Za-z0-9]+)_(?P<gid>.+)_spectrogram_(?P<dur>\d+(?:\.\d+)?)\.(?:png|jpe?g|gif)$",
    re.IGNORECASE)


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


def _gray(image: Image.Image, path: str | Path) -> np.ndarray:
    """Float gray in [0, 1]: RGB(A) and palette images through the 709 luma weights, 16-bit
    gray divided by 65535 (its full scale, so a faint scan stays faint), float gray as is."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float32)
        if arr.min() < 0 or arr.max() > 65535:
            raise InputError(path, f"{image.mode} pixels outside 0-65535 (not a 16-bit image)")
        return arr / 65535.0
    if image.mode == "F":
        arr = np.asarray(image, dtype=np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise InputError(path, "float pixels outside [0, 1]")
        return arr
    if image.mode in ("L", "LA", "1"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return (rgb @ LUMA_709) / 255.0


def _resize(gray: np.ndarray) -> np.ndarray:
    """Resize to 140x170 exactly as scikit-image's ``rescale``/``resize`` does it.

    Gravity Spy's ``read_grayscale`` calls ``skimage.transform.rescale(img, 0.3,
    mode="constant")``: a Gaussian anti-aliasing blur (sigma = (factor - 1) / 2) followed by
    bilinear interpolation on the pixel grid. :mod:`zoo.io.resample` reproduces it to 2e-7
    (two banded matrices, a sixth of the cost of filtering every pixel), so zoo's labels equal
    Gravity Spy's without needing scikit-image.
    """
    if gray.shape == IMAGE_SHAPE:
        return gray.astype(np.float32)
    return rescale_like_skimage(gray, IMAGE_SHAPE)


GRAVITYSPY_REFERENCE = ("Gravity Spy read_grayscale (skimage imread, crop, rgb2gray, "
                        "rescale 0.3) + keras predict per file")


def gravityspy_reference_read(path: str) -> dict[str, np.ndarray]:
    """Gravity Spy's own ``read_grayscale`` (scikit-image), the reference for benchmarks.

    imread, crop rows 66:532 / columns 105:671, ``rgb2gray``, ``rescale(0.3)``; needs
    scikit-image (test extra). zoo's own reader is :func:`read_scan` (Pillow).
    """
    from skimage import io
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    image = io.imread(path)[CROP_ROWS[0]:CROP_ROWS[1], CROP_COLS[0]:CROP_COLS[1], :3]
    gray = rescale(rgb2gray(image), RESCALE, mode="constant", preserve_range=True)
    return {"image": np.asarray(gray, dtype=np.float32)[..., None]}


@dataclass(frozen=True)
class ScanRead:
    """One event as read from one file: its views on the training scale and what was seen.

    ``durations`` names each view ("0.5" ... "4.0"): the four frames of an event GIF, the
    duration in a Gravity Spy file name, or None where the file does not say.
    ``measure_on_map`` gives :attr:`on_map` when it is first asked for.
    """

    views: tuple[np.ndarray, ...]
    durations: tuple[str | None, ...]
    form: str
    measure_on_map: Callable[[], float] = field(default=lambda: float("nan"), repr=False,
                                                compare=False)

    @cached_property
    def on_map(self) -> float:
        """Share of the plot area's pixels on the viridis colour map (NaN for gray input): how
        faithfully the file kept the colours (1.0 for a PNG; JPEG and GIF palettes lower it).

        Measured on first use: predictions never use it, and masking the plot area would add
        ~0.7 ms to each file's ~11 ms way to a label.
        """
        return self.measure_on_map()

    def view(self, duration: str) -> np.ndarray | None:
        """The view of ``duration``; a lone view of unknown duration stands for any."""
        if duration in self.durations:
            return self.views[self.durations.index(duration)]
        if self.durations == (None,):
            return self.views[0]
        return None


def read_scan(path: str | Path) -> ScanRead:
    """Any file a Gravity Spy user holds -> its views as (140, 170) float32 in [0, 1].

    Forms: a raw Omega-scan figure at any scale (PNG, JPEG or GIF; RGB, RGBA or palette),
    found from its layout (:mod:`zoo.tasks.glitch.layout`) and cropped in proportion, exactly
    Gravity Spy's crop on an 800x600 PNG; an animated GIF of 4 such frames, the durations 0.5,
    1, 2 and 4 s of one event in that order; a bare spectrogram (the plot area alone, in
    viridis, or gray at 8 or 16 bits). Anything else raises one :class:`InputError` line.
    """
    image = open_image(path)
    frames = getattr(image, "n_frames", 1)
    if frames not in (1, len(DURATIONS)):
        raise InputError(path, f"animated image of {frames} frames; a Gravity Spy event GIF "
                               f"has {len(DURATIONS)} (0.5, 1, 2, 4 s)")
    if min(image.size) < MIN_SIDE:
        raise InputError(path, f"image is {image.width}x{image.height}: too small for a "
                               f"spectrogram (needs >= {MIN_SIDE}x{MIN_SIDE})")
    if frames == 1:
        view, form, share = _read_frame(path, image)
        name = parse_scan_name(path)
        return ScanRead((view,), (name.duration if name else None,), form, share)
    views, forms, shares = [], [], []
    for index in range(frames):
        image.seek(index)
        view, form, share = _read_frame(path, image)
        views.append(view)
        forms.append(form)
        shares.append(share)
    return ScanRead(tuple(views), DURATIONS, f"event GIF of 4 durations, {forms[0]}",
                    lambda: float(np.mean([share() for share in shares])))


def is_event_gif(path: str | Path) -> bool:
    """True for a GIF of 4 frames (one event's durations); False for anything else, unreadable
    files included (their reader reports them)."""
    if Path(path).suffix.lower() != ".gif":
        return False
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) == len(DURATIONS)
    except (OSError, SyntaxError, ValueError):
        return False


def _read_frame(path: str | Path, image: Image.Image) -> tuple[np.ndarray, str,
                                                                Callable[[], float]]:
    """One frame -> (view, form, what measures the share of the plot area on viridis)."""
    size = f"{image.width}x{image.height}"
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F", "L", "LA", "1"):
        gray = _gray(image, path)
        _check_bare(path, gray, size)
        return check_finite(path, _resize(gray)), f"gray spectrogram {size}", _no_colours
    rgb = _rgb(image)
    sparse = rgb[::4, ::4]  # a gray image is gray everywhere: every 16th pixel tells
    channels = sparse[..., 0], sparse[..., 1], sparse[..., 2]  # (max/min over axis 2: ~20x slower)
    if (np.maximum.reduce(channels).astype(np.int16) - np.minimum.reduce(channels)).max() \
            <= GRAY_SPREAD:
        gray = (rgb[..., 0] / 255.0).astype(np.float32)
        _check_bare(path, gray, size)
        return check_finite(path, _resize(gray)), f"gray spectrogram {size}", _no_colours
    mask = None
    layout = reference_layout(rgb)
    if layout is None:
        mask = on_map(rgb)
        found = find_plot_area(rgb, mask)
        if isinstance(found, str):
            return _read_bare(path, rgb, mask, size, found)
        layout = found
    box = layout.crop_box(image.size)
    crop = (rgb[box[1]:box[3], box[0]:box[2]].astype(np.float32) @ LUMA_709) / 255.0
    exact = box == (CROP_COLS[0], CROP_ROWS[0], CROP_COLS[1], CROP_ROWS[1])
    form = f"Omega scan {size} (" + ("Gravity Spy crop)" if exact else
                                     f"crop scaled {layout.scale:.2f})")
    return check_finite(path, _resize(crop)), form, _plot_on_map(rgb, mask, layout)


def _rgb(image: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 pixels in one contiguous array: the numpy steps after it are ~5x slower
    on a strided view such as ``rgba[..., :3]``. Pillow's raw encoder packs RGB(A) pixels to
    it in one pass, dropping alpha as ``convert("RGB")`` does (0.19 ms an 800x600 scan, against
    0.75 ms for that conversion and the copy to numpy); other modes are converted first."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    packed = image.tobytes("raw", "RGB")
    return np.frombuffer(packed, np.uint8).reshape(image.height, image.width, 3)


def _read_bare(path: str | Path, rgb: np.ndarray, mask: np.ndarray, size: str,
               why_not_a_scan: str) -> tuple[np.ndarray, str, Callable[[], float]]:
    """A colour image that is no Omega-scan figure: a bare viridis spectrogram, or refused."""
    share = float(mask.mean())
    if share < BARE_ON_MAP:
        raise InputError(path, f"not an Omega scan ({why_not_a_scan}) nor a bare viridis "
                               f"spectrogram (only {share:.0%} of its pixels are on the viridis "
                               "colour map)")
    gray = (rgb.astype(np.float32) @ LUMA_709) / 255.0
    _check_bare(path, gray, size)
    return check_finite(path, _resize(gray)), f"bare viridis spectrogram {size}", lambda: share


def _plot_on_map(rgb: np.ndarray, mask: np.ndarray | None,
                 layout: Layout) -> Callable[[], float]:
    """What measures the plot area's share on viridis: the search's mask where it ran, else a
    mask of the plot area alone, made only when asked for."""
    (c0, c1), (r0, r1) = layout.cols, layout.rows
    if mask is not None:
        share = float(mask[r0:r1, c0:c1].mean())
        return lambda: share
    plot = rgb[r0:r1, c0:c1]
    return lambda: float(on_map(plot).mean())


def _no_colours() -> float:
    """The viridis share of a gray image: there are no colours to measure."""
    return float("nan")


def _check_bare(path: str | Path, gray: np.ndarray, size: str) -> None:
    """A bare spectrogram has the plot area's proportions and is not one flat colour."""
    aspect = gray.shape[1] / gray.shape[0]
    if not BARE_ASPECT[0] <= aspect <= BARE_ASPECT[1]:
        raise InputError(path, f"a {size} image is no bare spectrogram (width/height {aspect:.2f}; "
                               f"the plot area's is {IMAGE_SHAPE[1] / IMAGE_SHAPE[0]:.2f})")
    if float(gray.max() - gray.min()) < 1e-3:
        raise InputError(path, f"image is blank (one flat value {gray.mean():.3f})")


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
    """Collects (id, views, label) events and emits the arrays of one view."""

    def __init__(self, view: str, duration: str):
        self.view, self.duration = view, duration
        self.images: list[np.ndarray] = []
        self.labels: list[int] = []
        self.ids: list[str] = []

    def add(self, gid: str, event: ScanRead, label: int) -> bool:
        """Add the samples of one event; False when it has none for this view (a single scan
        cannot make a multi-view mosaic, nor a view of a duration it does not show)."""
        if self.view == "multiview":
            views = [event.view(d) for d in DURATIONS]
            if any(v is None for v in views) or event.durations == (None,):
                return False
            self._append(tile_views(views), label, gid)  # type: ignore[arg-type]
            return True
        if self.duration != "all":
            chosen = event.view(self.duration)
            if chosen is not None:
                self._append(chosen, label, gid)
            return chosen is not None
        for dur, image in zip(event.durations, event.views, strict=True):
            self._append(image, label, f"{gid}/{dur}" if dur else gid)
        return True

    def _append(self, image: np.ndarray, label: int, gid: str) -> None:
        self.images.append(image[..., None])
        self.labels.append(label)
        self.ids.append(gid)

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
                        raise InputError(metadata_csv or path,
                                         f"id {gid} is labelled {metadata[gid]!r} but the HDF5 "
                                         f"file has it under {label}")
                    builders[split].add(gid, ScanRead(tuple(views), DURATIONS, "trainingsetv1d1"),
                                        _label_index(label, classes, positive))
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


# ---- labelled folders of scans -------------------------------------------------------------

#: File suffixes a scan folder is read from (other files, e.g. a README, are passed over).
SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def scan_files(items: Iterable[str]) -> Iterator[Path]:
    """Files named by ``items`` (paths, folders, globs), lazily. Inside a folder only scan
    files (:data:`SCAN_SUFFIXES`) are taken, so a README or metadata beside the scans is
    passed over; a file named explicitly is always read (and refused if it is no scan)."""
    for item in items:
        if Path(check_input_name(str(item))).is_dir():
            # a folder expand_inputs yields is a problem (link loop, unreadable or empty
            # folder) that reading it reports in one line: it is kept
            yield from (p for p in expand_inputs([item])
                        if p.suffix.lower() in SCAN_SUFFIXES or p.is_dir())
        else:
            yield from expand_inputs([item])


def group_scans(paths: Iterable[Path], root: Path,
                classes: Sequence[str]) -> dict[tuple[str, str, str], dict[str | None, Path]]:
    """{(split or '', class, event): {duration or None: path}} for a ``[split/]Class/...`` tree.

    Files named ``IFO_ID_spectrogram_DUR.*`` of one ID are one event; any other file (an
    event GIF, a single scan) is an event of its own, keyed by its name.
    """
    groups: dict[tuple[str, str, str], dict[str | None, Path]] = {}
    for path in paths:
        if path.suffix.lower() not in SCAN_SUFFIXES:
            continue
        parts = path.relative_to(root).parts[:-1]
        split = parts[0] if len(parts) >= 2 and parts[0] in SPLITS else ""
        label = parts[-1] if parts else ""
        if label not in classes:
            raise InputError(path, f"folder {label!r} is not a Gravity Spy class "
                                   f"(expected <Class>/<scan files>)")
        name = parse_scan_name(path)
        key = f"{name.ifo}_{name.gid}" if name else path.name
        groups.setdefault((split, label, key), {})[name.duration if name else None] = path
    return groups


def read_event(files: Mapping[str | None, Path]) -> ScanRead:
    """The files of one event (one file, or one per duration) as one :class:`ScanRead`."""
    if list(files) == [None]:
        return read_scan(files[None])
    reads = {dur: read_scan(path) for dur, path in files.items()}
    durations = tuple(sorted(reads, key=lambda d: float(d or 0)))
    forms = sorted({r.form for r in reads.values()})

    def measure_on_map() -> float:
        shares = [r.on_map for r in reads.values()]
        return float(np.nanmean(shares)) if np.isfinite(shares).any() else float("nan")

    return ScanRead(tuple(reads[d].views[0] for d in durations), durations, "; ".join(forms),
                    measure_on_map)


def read_scan_folder(root: str | Path, view: str = "single", classes: Sequence[str] = CLASSES,
                     duration: str = "all", positive: str | None = None, seed: int = 0,
                     fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> Dataset:
    """A labelled folder of scans in any form :func:`read_scan` takes -> Dataset.

    ``<Class>/`` subfolders give the labels; ``train/``, ``validation/`` and ``test/`` above
    them give the split, otherwise a seeded per-class split by ``fractions`` ((0, 0, 1)
    puts everything in the test split, for scoring a user's folder). Events without a
    sample for ``view`` (a single scan for the multi-view mosaic) are counted in
    ``source["skipped"]``.
    """
    root = Path(root)
    check_view(view, str(root))
    duration = check_duration(duration, str(root))
    groups = group_scans(walk_files(root), root, classes)
    if not groups:
        raise InputError(root, "no scans (<Class>/*.png|jpg|gif) found")
    assigned = _assign_splits(groups, seed, fractions)
    builders = {split: _SplitBuilder(view, duration) for split in SPLITS}
    forms: dict[str, int] = {}
    skipped: list[str] = []
    for (split, label, gid), files in sorted(groups.items()):
        event = read_event(files)
        kind = event.form.split(" (")[0]
        forms[kind] = forms.get(kind, 0) + 1
        target = _label_index(label, classes, positive)
        if not builders[assigned[(split, label, gid)]].add(gid, event, target):
            skipped.append(f"{label}/{gid}")
    splits = {name: b.build() for name, b in builders.items()}
    return Dataset(splits["train"], splits["validation"], splits["test"],
                   source={"type": "gravityspy-scan-folder", "path": str(root), "simulated": False,
                           "n_events": len(groups), "forms": forms, "skipped": skipped,
                           "split_seed": seed, "fractions": list(fractions),
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
