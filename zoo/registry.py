"""Task and architecture registration, modelled on timm's ``@register_model``.

Tasks register themselves when their module is imported. Modules under ``zoo.tasks`` are
discovered automatically, and third-party packages can add tasks through the
``zoo.tasks`` entry-point group, so adding a task never edits this file.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from zoo.errors import DuplicateNameError, UnknownNameError
from zoo.task import Task

T = TypeVar("T", bound=type[Task])

_TASKS: dict[str, Task] = {}
_ARCHS: dict[str, dict[str, Architecture]] = {}
_discovered = False
#: task modules that failed to import, with the reason (shown by `zoo list`)
BROKEN: dict[str, str] = {}


@dataclass(frozen=True)
class Architecture:
    """A registered model builder: ``build(task, **hparams) -> keras.Model``."""

    task: str
    name: str
    build: Callable[..., Any]
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    #: ``search_space(trial) -> hparams`` for Optuna tuning, if the architecture has one
    search_space: Callable[[Any], dict[str, Any]] | None = None
    #: recipe fields this architecture changes relative to the task default
    recipe: dict[str, Any] = field(default_factory=dict)


def register_task(cls: T) -> T:
    """Class decorator: instantiate and register a :class:`Task` subclass under ``cls.name``.

    A second task under a name already taken is an error, never a silent replacement.
    """
    if cls.name in _TASKS:
        taken = type(_TASKS[cls.name])
        raise DuplicateNameError(f"task {cls.name!r} is already registered by "
                                 f"{taken.__module__}.{taken.__qualname__}")
    _TASKS[cls.name] = cls()
    _ARCHS.setdefault(cls.name, {})
    return cls


def register_model(
    task: str,
    name: str,
    *,
    description: str = "",
    search_space: Callable[[Any], dict[str, Any]] | None = None,
    recipe: dict[str, Any] | None = None,
    **defaults: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Function decorator registering a Keras model builder for ``task`` under ``name``.

    The builder must import Keras inside its body so that registering stays TF-free.
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = description or ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        archs = _ARCHS.setdefault(task, {})
        if name in archs:
            taken = archs[name].build
            raise DuplicateNameError(f"architecture {task}/{name} is already registered by "
                                     f"{taken.__module__}.{taken.__qualname__}")
        archs[name] = Architecture(
            task, name, fn, doc, dict(defaults), search_space, dict(recipe or {})
        )
        return fn

    return wrap


def discover() -> None:
    """Import every task module once: ``zoo.tasks.*`` and the ``zoo.tasks`` entry points."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import zoo.tasks

    for info in pkgutil.iter_modules(zoo.tasks.__path__, "zoo.tasks."):
        _import_task_module(info.name, functools.partial(importlib.import_module, info.name))
    for ep in entry_points(group="zoo.tasks"):
        _import_task_module(ep.value, ep.load)


def _import_task_module(name: str, load: Callable[[], Any]) -> None:
    """Import one task module; a broken one is reported, not allowed to hide the others."""
    try:
        load()
    except Exception as exc:  # any error in a task module; the others must stay usable
        BROKEN[name] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"zoo: task module {name} failed to import ({BROKEN[name]})", stacklevel=3)


def list_tasks(pattern: str = "*") -> list[str]:
    discover()
    return sorted(n for n in _TASKS if fnmatch.fnmatch(n, pattern))


def get_task(name: str) -> Task:
    discover()
    if name not in _TASKS:
        raise UnknownNameError("task", name, sorted(_TASKS))
    return _TASKS[name]


def list_models(pattern: str = "*", task: str | None = None) -> list[str]:
    """Registered models as ``task/arch`` names, like ``timm.list_models("*cnn*")``.

    ``pattern`` is a glob matched against ``task/arch``, the task name and the architecture
    name, so ``"*cnn*"``, ``"glitch/*"`` and ``"digits"`` all work. With ``task`` the result
    is that task's architecture names alone (an unknown task lists the valid ones).
    """
    discover()
    if task is not None:
        get_task(task)
        return sorted(a for a in _ARCHS[task] if fnmatch.fnmatch(a, pattern))
    return sorted(f"{t}/{a}" for t, archs in _ARCHS.items() for a in archs
                  if any(fnmatch.fnmatch(text, pattern) for text in (f"{t}/{a}", t, a)))


def get_architecture(task: str, arch: str | None = None) -> Architecture:
    spec = get_task(task)
    name = arch or spec.default_arch
    archs = _ARCHS[task]
    if name not in archs:
        raise UnknownNameError(f"architecture of {task}", name, sorted(archs))
    return archs[name]
