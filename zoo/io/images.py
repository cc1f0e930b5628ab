"""Image decoding with Pillow, turning every decoder failure into a one-line InputError."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from zoo.errors import InputError
from zoo.io.files import check_input_file
from zoo.io.limits import limits, over_limit

# Our own max_pixels limit is checked from the header before decoding; Pillow's warning
# below its hard limit would only be noise on the user's terminal.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def open_image(path: str | Path, size: tuple[int, int] | None = None, who: str = "") -> Image.Image:
    """Open and fully decode an image file; any problem raises a one-line InputError.

    The path is checked without opening it (a FIFO would block), and the size from the
    header is checked before decoding: against ``size`` (width, height) when given, else
    against the ``max_pixels`` limit, so that a huge image is never decoded.
    """
    path = check_input_file(path)
    if Image.MAX_IMAGE_PIXELS is not None and limits().max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limits().max_pixels  # a raised limit raises Pillow's too
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise InputError(path, "not an image file (Pillow cannot identify it)") from None
    except Image.DecompressionBombError as exc:
        raise InputError(path, over_limit("image pixels", _bomb_pixels(exc), "max_pixels")) \
            from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(path, f"corrupt or truncated image ({exc})") from None
    with _closing_on_error(image):
        if size is not None and image.size != size:
            raise InputError(path, f"image is {image.width}x{image.height}, {who} needs "
                                   f"{size[0]}x{size[1]}")
        pixels = image.width * image.height
        if pixels > limits().max_pixels:
            raise InputError(path, over_limit(f"image of {image.width}x{image.height} pixels",
                                              pixels, "max_pixels"))
        fast = _spng_decode(path, image)
        if fast is not None:
            return fast
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(path, f"corrupt or truncated image ({exc})") from None
    return image


def _spng_decode(path: Path, image: Image.Image) -> Image.Image | None:
    """The same pixels through libspng when pyspng is installed (the ``png`` extra).

    It decodes the 800x600 Omega scans with ~40% less CPU than Pillow (5.7 vs 9.1 ms a file,
    docs/benchmarks.md), which is most of a file's cost on the way to a label. None where it
    does not apply (not an 8-bit gray/RGB/RGBA PNG, or no pyspng): Pillow decodes as before.
    """
    if image.format != "PNG" or image.mode not in ("L", "RGB", "RGBA") or _pyspng() is None:
        return None
    try:
        pixels = _pyspng().load(path.read_bytes(), image.mode)
    except Exception as exc:  # libspng reports corrupt data as RuntimeError
        raise InputError(path, f"corrupt or truncated image ({exc})") from None
    image.close()
    return Image.fromarray(pixels)


@lru_cache(maxsize=1)
def _pyspng() -> Any:
    try:
        import pyspng
    except ImportError:
        return None
    return pyspng


@contextmanager
def _closing_on_error(image: Image.Image) -> Iterator[None]:
    try:
        yield
    except BaseException:
        image.close()
        raise


def _bomb_pixels(exc: Exception) -> int:
    """The pixel count in Pillow's DecompressionBombError message ("Image size (N pixels)")."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    return int(found.group(1)) if found else 0


def to_gray(image: Image.Image) -> np.ndarray:
    """Luminance gray in [0, 1] as float32 (ITU-R 601-2, as Pillow's ``convert('L')``)."""
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit data: full scale is 65535, whatever this image's own maximum is
        return np.clip(np.asarray(image, dtype=np.float32) / 65535.0, 0.0, 1.0)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def open_sized(path: str | Path, size: tuple[int, int], who: str,
               modes: tuple[str, ...] | None = None) -> Image.Image:
    """Open an image that must be exactly ``size`` (width, height) and, if given, of ``modes``.

    Small-image tasks reject other sizes instead of resizing them silently; the size is
    checked from the header, before decoding.
    """
    image = open_image(path, size, who)
    if modes is not None and image.mode not in modes:
        raise InputError(path, f"unsupported image mode {image.mode!r} (expected gray or RGB)")
    return image


def ink_bright(gray: np.ndarray) -> np.ndarray:
    """Invert a mostly bright image (dark ink on paper): digit data sets store bright ink."""
    return 1.0 - gray if gray.mean() > 0.5 else gray


def check_finite(path: str | Path, array: np.ndarray, field: str = "pixels") -> np.ndarray:
    if not np.isfinite(array).all():
        raise InputError(path, f"{field} contain NaN or inf")
    return array
