"""Input limits, checked from file headers before anything is decoded.

A 4.5 MB tile-compressed FITS file can expand to gigabytes and a 1.4 KB HDF5 file can declare
ten million jets, so readers ask these limits before they allocate. The defaults are far above
every real input of the tasks (a Gravity Spy scan is 0.48 Mpx, a jet file a few 100,000 jets);
``zoo predict --max-pixels/--max-bytes/--max-samples`` or the environment variables
``ZOO_MAX_PIXELS``, ``ZOO_MAX_BYTES`` and ``ZOO_MAX_SAMPLES`` raise them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from zoo.errors import ZooError


@dataclass(frozen=True)
class Limits:
    #: values of one decoded image: width x height for pictures, all elements of a FITS image
    max_pixels: int = 50_000_000
    #: bytes of a file (or of an array inside it) that is read whole into memory
    max_bytes: int = 2 << 30
    #: samples (jets, rows) one file may declare
    max_samples: int = 20_000_000

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in dataclasses.fields(cls):
            text = os.environ.get(f"ZOO_{f.name.upper()}")
            if text:
                values[f.name] = _positive(text, f"ZOO_{f.name.upper()}")
        return cls(**values)


def _positive(text: str | int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ZooError(f"{what} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise ZooError(f"{what} must be a positive integer, got {text!r}")
    return value


_current: Limits | None = None


def limits() -> Limits:
    """The limits in force: the environment's, or those :func:`set_limits` gave."""
    global _current
    if _current is None:
        _current = Limits.from_env()
    return _current


def set_limits(**changes: int | None) -> Limits:
    """Limits from now on: the environment's, with those given (not None) in their place."""
    global _current
    given = {k: _positive(v, f"--{k.replace('_', '-')}") for k, v in changes.items()
             if v is not None}
    _current = dataclasses.replace(Limits.from_env(), **given)
    return _current


def over_limit(what: str, value: int, limit_name: str) -> str:
    """The one-line problem for an input over a limit, naming the option that raises it."""
    limit = getattr(limits(), limit_name)
    flag = limit_name.replace("_", "-")
    return (f"{what} ({value:,}) is over the limit of {limit:,} (raise it with --{flag} or "
            f"ZOO_{limit_name.upper()})")
