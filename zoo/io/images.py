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


def check_finite(path: str | Path, array: np.ndarray, field: str = "pixels") -> np.ndarray:
    if not np.isfinite(array).all():
        raise InputError(path, f"{field} contain NaN or inf")
    return array
