"""Exceptions that the CLI turns into one clear line instead of a traceback."""

from __future__ import annotations

import os


class ZooError(Exception):
    """Base class: every error a user can cause derives from it."""


class UnknownNameError(ZooError, KeyError):
    """An unknown task, architecture or weight set; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(valid) or '(none)'}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class DuplicateNameError(ZooError, ValueError):
    """A task, architecture or weight set registered under a name that is already taken."""


class InputError(ZooError):
    """A file (or field inside one) that cannot be used; names the file and the problem."""

    def __init__(self, source: str | os.PathLike[str], problem: str):
        self.source, self.problem = str(source), problem
        super().__init__(f"{source}: {problem}")


class WeightsError(ZooError):
    """Missing, corrupt or mismatching weight files."""


class ExportError(ZooError):
    """An ONNX export that failed or did not reproduce the Keras model."""


class MissingExtraError(ZooError):
    """A feature needs an optional dependency group that is not installed."""

    def __init__(self, feature: str, extra: str = "train"):
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'physzoo[{extra}]'")
