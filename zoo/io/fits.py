"""Generic FITS image reading with astropy: the first HDU that holds image data."""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.io.files import check_input_file
from zoo.io.limits import limits, over_limit


def read_fits_image(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(data as float32 in numpy axis order, header as a dict) of the first image HDU.

    Headers of the primary HDU are merged under the image HDU's own keywords, so that a
    keyword such as REDSHIFT set in the primary header is found for an extension image.
    The image's size is checked from its header against ``max_pixels`` before the data are
    read: a small tile-compressed file can expand to gigabytes.
    """
    from astropy.io import fits

    path = check_input_file(path)
    _quiet_astropy()
    try:
        with fits.open(path, memmap=False) as hdus:
            primary = dict(hdus[0].header)
            for hdu in hdus:
                if not hdu.is_image:
                    continue
                shape = tuple(hdu.shape)
                size = math.prod(shape) if shape else 0
                if size == 0:
                    continue
                if size > limits().max_pixels:
                    raise InputError(path, over_limit(f"image of shape {shape} values", size,
                                                      "max_pixels"))
                data = np.asarray(hdu.data, dtype=np.float32)
                return data, {**primary, **dict(hdu.header)}
    except InputError:
        raise
    except Exception as exc:  # astropy raises assorted types (OSError, ValueError, zlib...)
        raise InputError(path, f"not a readable FITS file ({type(exc).__name__}: {exc})") \
            from None
    raise InputError(path, "FITS file holds no image data (no HDU with a data array)")


def _quiet_astropy() -> None:
    """astropy's header fixes and unit notes are not the user's problem: keep them off stderr."""
    from astropy.utils.exceptions import AstropyWarning

    warnings.filterwarnings("ignore", category=AstropyWarning)
    logging.getLogger("astropy").setLevel(logging.ERROR)
