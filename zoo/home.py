"""The user's weights folder, ``$ZOO_HOME/weights/<task>/``, seen by every command beside the
shipped weights.

A pip-installed zoo cannot write into its own package, so weight sets a user ships (``zoo
ship``) or pulls from the Hugging Face Hub (``zoo pull``) go here, in the same layout as
``zoo/pretrained/``: ``<name>.onnx`` + ``<name>.json`` (+ ``<name>.weights.h5`` and a model
card ``<name>.md``). ``ZOO_HOME`` defaults to the platform's user data folder
(``~/.local/share/zoo`` on Linux, via platformdirs).

A user weight set never takes a shipped name silently: shipping or pulling one refuses
unless ``--force`` is given, and ``zoo list`` marks it as shadowing the shipped one.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ZOO_HOME"
APP_NAME = "zoo"


def home() -> Path:
    """``$ZOO_HOME``, else the platform's user data folder for ``zoo``."""
    given = os.environ.get(ENV)
    if given:
        return Path(given).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def weights_root() -> Path:
    """``$ZOO_HOME/weights``: one sub-folder per task (may not exist yet)."""
    return home() / "weights"


def weights_dir(task: str) -> Path:
    """The user's weight sets of ``task`` (may not exist yet)."""
    return weights_root() / task


def is_user_weights(path: str | Path) -> bool:
    """Whether ``path`` lies in the user weights folder."""
    try:
        Path(path).resolve().relative_to(weights_root().resolve())
    except ValueError:
        return False
    return True
