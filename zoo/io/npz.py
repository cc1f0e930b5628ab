"""What an ``.npz`` file declares, read from its zip directory and ``.npy`` headers only.

``np.load`` decompresses a member in full before anything can be checked, so a truncated
archive, a pickled object array or a few kilobytes that inflate to gigabytes surface late, as
assorted exception types. Reading the headers first turns each into one InputError line.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import InputError
from zoo.io.files import check_input_file
from zoo.io.limits import limits, over_limit

#: what reading a damaged archive can raise besides InputError
NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npz_headers(path: str | Path, allow_objects: bool = False) -> dict[str, ArrayHeader]:
    """{array name: header} of every ``.npy`` member, checked against ``max_bytes``.

    Raises a one-line InputError for a file that is not a zip archive, a member that is
    not an array, a pickled object array (unless ``allow_objects``) or arrays that would
    need more memory than the limit allows.
    """
    path = check_input_file(path)
    headers: dict[str, ArrayHeader] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as raw:
                    version = np.lib.format.read_magic(raw)
                    read = (np.lib.format.read_array_header_1_0 if version[0] == 1
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(raw)
                headers[member.removesuffix(".npy")] = ArrayHeader(tuple(shape), dtype)
    except zipfile.BadZipFile:
        raise InputError(path, "not a valid .npz file (not a zip archive, or truncated)") \
            from None
    except NPZ_ERRORS as exc:
        raise InputError(path, f"corrupt .npz file ({type(exc).__name__}: {exc})") from None
    if not headers:
        raise InputError(path, "empty .npz file (no arrays)")
    for name, header in headers.items():
        if header.dtype.hasobject and not allow_objects:
            raise InputError(path, f"field '{name}' is an object array (pickled Python "
                                   "objects are never loaded)")
    total = sum(h.nbytes for h in headers.values() if not h.dtype.hasobject)
    if total > limits().max_bytes:
        raise InputError(path, over_limit("decompressed array bytes", total, "max_bytes"))
    return headers
