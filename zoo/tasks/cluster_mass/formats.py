"""cluster-mass file formats: FITS cubes for prediction, an HDF5/NPZ catalogue for training.

Catalogue (the one format the simulator also writes): datasets ``images`` (N, 50, 50, 10)
or (N, 10, 50, 50) photon counts, ``redshift`` (N,), ``log_mass`` (N,) = log10 M500/M_sun,
optional ``split`` (N,) with "train"/"validation"/"test" (or 0/1/2); other datasets are kept
as truth columns. FITS: a (10, 50, 50) cube (numpy order, i.e. NAXIS3 = 10 bands) or
(50, 50, 10), counts per pixel, redshift from the REDSHIFT (or Z) header keyword or --z.
Preprocessing (the same for both): log(1 + counts) per pixel and band, as float32.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError

NPIX = 50
NBANDS = 10
IMAGE_SHAPE = (NPIX, NPIX, NBANDS)
REDSHIFT_KEYS = ("REDSHIFT", "Z", "ZRED")
SPLIT_NAMES = ("train", "validation", "test")
PIXEL_ARCSEC = 16.0
PREPROCESSING = "cluster-mass-log1p-counts-16arcsec-v1"


def preprocess(counts: np.ndarray) -> np.ndarray:
    """log(1 + counts) as float32: compresses the 1e0-1e4 dynamic range of cluster images."""
    out = np.asarray(counts, dtype=np.float32)
    if out is counts:
        out = out.copy()
    return np.log1p(out, out=out)


def to_channels_last(images: np.ndarray, where: str | Path, batch: bool) -> np.ndarray:
    """Accept bands first or last; anything but 10 bands of 50x50 pixels is an error."""
    shape = images.shape[1:] if batch else images.shape
    if shape == IMAGE_SHAPE:
        return images
    if shape == (NBANDS, NPIX, NPIX):
        return np.moveaxis(images, -3, -1)
    bands = shape[0] if shape[1:] == (NPIX, NPIX) else shape[-1] if shape[:2] == (NPIX, NPIX) \
        else None
    if len(shape) == 3 and bands is not None:
        raise InputError(where, f"image has {bands} energy bands, cluster-mass needs {NBANDS}: "
                                f"shape (10, 50, 50) or (50, 50, 10), got {shape}")
    raise InputError(where, f"image shape {shape}: cluster-mass needs {NBANDS} bands of "
                            f"{NPIX}x{NPIX} pixels, (10, 50, 50) or (50, 50, 10)")


def check_counts(image: np.ndarray, where: str | Path) -> None:
    nan = int(np.count_nonzero(~np.isfinite(image)))
    if nan:
        raise InputError(where, f"image has {nan} NaN or infinite pixel(s); fill them "
                                "(e.g. with 0 counts) before predicting")
    if image.size and float(image.min()) < 0:
        raise InputError(where, f"image has negative pixels (min {float(image.min()):.3g}); "
                                "cluster-mass needs photon counts, not background-subtracted maps")


def check_redshift(z: Any, where: str | Path) -> float:
    try:
        value = float(z)
    except (TypeError, ValueError):
        raise InputError(where, f"redshift {z!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(where, f"redshift {value:g} must be positive")
    return value


# ---- FITS ------------------------------------------------------------------------------------
def read_fits_cluster(path: str | Path, z: float | None = None) -> tuple[np.ndarray, float]:
    """(image (50, 50, 10) counts as float32, redshift) from a FITS cube; ``z`` wins over header."""
    from zoo.io.fits import read_fits_image

    data, header = read_fits_image(path)
    image = to_channels_last(data, path, batch=False)
    check_counts(image, path)
    scale = header.get("CDELT2", header.get("CDELT1"))
    if scale is not None and abs(abs(float(scale)) * 3600 - PIXEL_ARCSEC) > 0.5:
        raise InputError(path, f"pixel scale {abs(float(scale)) * 3600:.3g} arcsec (CDELT); "
                               f"cluster-mass models are trained on {PIXEL_ARCSEC:g} arcsec pixels")
    if z is None:
        z = next((header[k] for k in REDSHIFT_KEYS if k in header), None)
        if z is None:
            raise InputError(path, "no redshift: pass --z or set the REDSHIFT header keyword")
    return np.ascontiguousarray(image), check_redshift(z, path)


def write_fits_cluster(path: str | Path, counts: np.ndarray, z: float,
                       pixel_arcsec: float = PIXEL_ARCSEC) -> Path:
    """Write one (50, 50, 10) count image as a (10, 50, 50) FITS cube with REDSHIFT, atomically."""
    from astropy.io import fits

    path = Path(path)
    hdu = fits.PrimaryHDU(np.moveaxis(np.asarray(counts, dtype=np.float32), -1, 0))
    hdu.header["REDSHIFT"] = (float(z), "cluster redshift")
    hdu.header["CDELT1"] = (-pixel_arcsec / 3600, "deg/pixel")
    hdu.header["CDELT2"] = (pixel_arcsec / 3600, "deg/pixel")
    hdu.header["BUNIT"] = ("count", "photon counts per pixel and band")
    hdu.header["EBANDS"] = ("0.2,0.3,0.5,0.7,1.0,1.4,2.0,2.8,4.0,5.6,8.0", "band edges, keV")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    hdu.writeto(tmp, overwrite=True)
    os.replace(tmp, path)
    return path


# ---- catalogue -------------------------------------------------------------------------------
@dataclass
class Catalogue:
    """Preprocessed images plus labels of a catalogue file; ``extra`` holds truth columns."""

    images: np.ndarray
    redshift: np.ndarray
    log_mass: np.ndarray
    split: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.log_mass)


def _split_codes(raw: np.ndarray, path: Path) -> np.ndarray:
    """Split column as 0/1/2 codes from strings or integers."""
    if raw.dtype.kind in "iu":
        codes = raw.astype(np.int64)
    else:
        text = np.array([s.decode() if isinstance(s, bytes) else str(s) for s in raw])
        alias = {"val": "validation", "valid": "validation"}
        text = np.array([alias.get(s.lower(), s.lower()) for s in text])
        bad = sorted(set(text) - set(SPLIT_NAMES))
        if bad:
            raise InputError(path, f"split: unknown value(s) {', '.join(bad)}; "
                                   "use train/validation/test")
        codes = np.array([SPLIT_NAMES.index(s) for s in text])
    if codes.size and (codes.min() < 0 or codes.max() > 2):
        raise InputError(path, "split: integer codes must be 0 (train), 1 (validation), 2 (test)")
    return codes


def read_catalogue(path: str | Path) -> Catalogue:
    """Read an HDF5 (.h5/.hdf5) or NPZ catalogue, check it and preprocess the images."""
    from zoo.io.files import check_input_file
    from zoo.io.npz import NPZ_ERRORS, npz_headers

    path = check_input_file(path)  # never blocks on a FIFO
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".hdf"):
        return _read_hdf5(path)
    if suffix == ".npz":
        npz_headers(path)  # truncated archives, object arrays, sizes over --max-bytes
        try:
            with np.load(path, allow_pickle=False) as npz:
                columns = {k: npz[k] for k in npz.files}
        except NPZ_ERRORS as exc:
            raise InputError(path, f"not a readable NPZ file ({exc})") from None
        return _assemble(path, columns.pop("images", None), columns, {})
    raise InputError(path, "catalogue must be .h5/.hdf5 or .npz")


def _read_hdf5(path: Path) -> Catalogue:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            columns = {k: f[k][()] for k in f if k != "images" and isinstance(f[k], h5py.Dataset)}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            if "images" not in f:
                return _assemble(path, None, columns, attrs)
            data = f["images"]
            images = np.empty(data.shape, np.float32)
            step = 512
            for start in range(0, data.shape[0], step):  # chunked: never two full copies
                images[start:start + step] = preprocess(data[start:start + step])
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None
    return _assemble(path, images, columns, attrs, preprocessed=True)


def _assemble(path: Path, images: np.ndarray | None, columns: dict[str, np.ndarray],
              attrs: dict[str, Any], preprocessed: bool = False) -> Catalogue:
    for key in ("redshift", "log_mass"):
        if key not in columns:
            raise InputError(path, f"catalogue lacks the {key!r} dataset")
    if images is None:
        raise InputError(path, "catalogue lacks the 'images' dataset")
    if images.ndim != 4:
        raise InputError(path, f"images: expected (N, 50, 50, 10), got shape {images.shape}")
    images = to_channels_last(images, f"{path}: images", batch=True)
    z = np.asarray(columns.pop("redshift"), np.float32).reshape(-1)
    log_m = np.asarray(columns.pop("log_mass"), np.float32).reshape(-1)
    if not len(images) == len(z) == len(log_m):
        raise InputError(path, f"images, redshift, log_mass have different lengths "
                               f"({len(images)}, {len(z)}, {len(log_m)})")
    if not np.all(np.isfinite(z)) or np.any(z <= 0):
        raise InputError(path, "redshift: all values must be positive and finite")
    if not np.all(np.isfinite(log_m)):
        raise InputError(path, "log_mass: NaN or infinite values")
    if not preprocessed:
        check_counts(images, f"{path}: images")
        images = preprocess(images)
    elif not np.all(np.isfinite(images)):
        raise InputError(path, "images: NaN, infinite or negative pixel values")
    split = _split_codes(np.asarray(columns.pop("split")), path) if "split" in columns else None
    return Catalogue(np.ascontiguousarray(images), z, log_m, split, columns, attrs)


class CatalogueWriter:
    """Appends chunks to an HDF5 catalogue in a temporary file; renamed into place on success."""

    def __init__(self, path: str | Path, attrs: Mapping[str, Any] | None = None):
        self.path = Path(path)
        self.attrs = dict(attrs or {})
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.file: Any = None
        self.count = 0

    def __enter__(self) -> CatalogueWriter:
        import h5py

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.tmp, "w")
        for key, value in self.attrs.items():
            plain = isinstance(value, (int, float, str))
            self.file.attrs[key] = value if plain else json.dumps(value)
        return self

    def append(self, counts: np.ndarray, redshift: np.ndarray, log_mass: np.ndarray,
               extra: Mapping[str, np.ndarray] | None = None) -> None:
        columns = {"redshift": np.asarray(redshift, np.float32),
                   "log_mass": np.asarray(log_mass, np.float32),
                   **{k: np.asarray(v) for k, v in (extra or {}).items()}}
        n = len(counts)
        if self.count == 0:
            self.file.create_dataset("images", shape=(0, *IMAGE_SHAPE),
                                     maxshape=(None, *IMAGE_SHAPE), dtype=np.int32,
                                     chunks=(16, *IMAGE_SHAPE),
                                     compression="gzip", compression_opts=1, shuffle=True)
            for key, value in columns.items():
                self.file.create_dataset(key, shape=(0,), maxshape=(None,), dtype=value.dtype)
        for key, value in {"images": counts, **columns}.items():
            dataset = self.file[key]
            dataset.resize(self.count + n, axis=0)
            dataset[self.count:] = value
        self.count += n

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_catalogue(path: str | Path, counts: np.ndarray, redshift: np.ndarray,
                    log_mass: np.ndarray, split: np.ndarray | None = None) -> Path:
    """Write a whole catalogue at once (HDF5 or NPZ by suffix), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        arrays: dict[str, Any] = {"images": counts, "redshift": redshift, "log_mass": log_mass}
        if split is not None:
            arrays["split"] = np.asarray(split)
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
        return path
    counts = to_channels_last(np.asarray(counts, np.int32), path, batch=True)
    with CatalogueWriter(path) as writer:
        extra = {} if split is None else {"split": np.asarray(split).astype("S10")}
        writer.append(counts, redshift, log_mass, extra)
    return path
