"""Image decoding with Pillow, turning every decoder failure into a one-line InputError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from zoo.errors import InputError


def open_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image file; truncated or non-image files raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, not an image")
    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise InputError(path, "not an image file (Pillow cannot identify it)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated image ({exc})") from None
    return image


def to_gray(image: Image.Image) -> np.ndarray:
    """Luminance gray in [0, 1] as float32 (ITU-R 601-2, as Pillow's ``convert('L')``)."""
    if image.mode in ("I;16", "I;16B", "I"):
        arr = np.asarray(image, dtype=np.float32)
        return arr / max(float(arr.max()), 1.0)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def open_sized(path: str | Path, size: tuple[int, int], who: str,
               modes: tuple[str, ...] | None = None) -> Image.Image:
    """Open an image that must be exactly ``size`` (width, height) and, if given, of ``modes``.

    Small-image tasks reject other sizes instead of resizing them silently.
    """
    image = open_image(path)
    if modes is not None and image.mode not in modes:
        raise InputError(path, f"unsupported image mode {image.mode!r} (expected gray or RGB)")
    if image.size != size:
        raise InputError(path, f"image is {image.width}x{image.height}, {who} needs "
                               f"{size[0]}x{size[1]}")
    return image


def ink_bright(gray: np.ndarray) -> np.ndarray:
    """Invert a mostly bright image (dark ink on paper): digit data sets store bright ink."""
    return 1.0 - gray if gray.mean() > 0.5 else gray


def check_finite(path: str | Path, array: np.ndarray, field: str = "pixels") -> np.ndarray:
    if not np.isfinite(array).all():
        raise InputError(path, f"{field} contain NaN or inf")
    return array
