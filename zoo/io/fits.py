"""Generic FITS image reading with astropy: the first HDU that holds image data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError


def read_fits_image(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(data as float32 in numpy axis order, header as a dict) of the first image HDU.

    Headers of the primary HDU are merged under the image HDU's own keywords, so that a
    keyword such as REDSHIFT set in the primary header is found for an extension image.
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with fits.open(path, memmap=False) as hdus:
            primary = dict(hdus[0].header)
            for hdu in hdus:
                if hdu.is_image and hdu.data is not None and hdu.data.size > 0:
                    return np.asarray(hdu.data, dtype=np.float32), {**primary, **dict(hdu.header)}
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(path, f"not a readable FITS file ({exc})") from None
    raise InputError(path, "FITS file holds no image data (no HDU with a data array)")
