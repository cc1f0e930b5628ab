"""Recipe, data and hyper-parameter overrides, checked before anything is loaded or trained.

``zoo train``, ``zoo tune``, ``zoo kfold`` and ``zoo eval`` pass extra ``--NAME value`` pairs
through to the recipe (``--epochs``, ``--optimizer-beta-1``), the task's data loader
(``--data-NAME``) and the architecture's builder (``--hp-NAME``). A misspelt name must not
silently train the full recipe (``--epoch 2`` used to run 36 epochs), so every name is
checked against what it targets - the :class:`~zoo.task.Recipe` fields and the recipe's
extras, the task's declared :attr:`~zoo.task.Task.data_options`, the builder's signature -
and every value against the type it must have. A failure is one :class:`ZooError` line with
a did-you-mean.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from zoo.errors import ZooError
from zoo.registry import Architecture
from zoo.task import Recipe, Task

#: recipe extras that go to the optimizer's constructor (``--optimizer-beta-1 0.8``)
OPTIMIZER_PREFIX = "optimizer_"


def flag(name: str) -> str:
    """``early_stopping_patience`` -> ``--early-stopping-patience``."""
    return "--" + name.replace("_", "-")


def did_you_mean(name: str, valid: Iterable[str], prefix: str = "") -> str:
    """``; did you mean --x?`` for the closest valid name, or an empty string."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {flag(prefix + close[0])}?" if close else ""


def unknown(kind: str, name: str, valid: Iterable[str], prefix: str = "") -> ZooError:
    valid = sorted(valid)
    listed = ", ".join(flag(prefix + v) for v in valid) or "none"
    return ZooError(f"unknown {kind} {flag(prefix + name)}{did_you_mean(name, valid, prefix)} "
                    f"(valid: {listed})")


def convert(value: Any, kind: type, name: str) -> Any:
    """``value`` (a CLI string or number, or a Python value) as ``kind``."""
    if value is None or isinstance(value, kind):
        return value
    if kind is bool:
        text = str(value).lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
    elif kind is tuple:
        return tuple(v for v in str(value).split(",") if v)
    else:
        try:
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise ZooError(f"{flag(name)}: {value!r} is not a valid {kind.__name__}")


def recipe_names(task: Task, arch: Architecture) -> set[str]:
    """Every name a recipe override may use: fields and the task's and architecture's extras."""
    fields = {f.name for f in dataclasses.fields(Recipe)} - {"extra"}
    return fields | set(task.recipe.extra) | set(arch.recipe)


def check_recipe(task: Task, arch: Architecture, overrides: Mapping[str, Any]) -> Recipe:
    """The task's recipe with the architecture's changes and ``overrides`` applied."""
    allowed = recipe_names(task, arch)
    base = task.recipe.override(**arch.recipe)
    for key in overrides:
        if key not in allowed and not key.startswith(OPTIMIZER_PREFIX):
            raise unknown("training option", key, allowed)
    recipe = base
    for key, value in overrides.items():
        try:
            recipe = recipe.override(**{key: value})
        except (TypeError, ValueError):
            like = type(getattr(base, key, "")).__name__
            raise ZooError(f"{flag(key)}: {value!r} is not a valid {like}") from None
    return recipe


def hparam_types(arch: Architecture) -> tuple[dict[str, type | None], bool]:
    """The builder's keyword parameters (with the type of their default) and whether it
    takes ``**kwargs``; the first parameter is the task."""
    params = list(inspect.signature(arch.build).parameters.values())[1:]
    types: dict[str, type | None] = {}
    for p in params:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            default = arch.defaults.get(p.name, p.default)
            types[p.name] = None if default in (None, p.empty) else type(default)
    return types, any(p.kind is p.VAR_KEYWORD for p in params)


def check_hparams(arch: Architecture, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` checked against the builder's signature, converted to its defaults' types."""
    types, open_ended = hparam_types(arch)
    checked: dict[str, Any] = {}
    for key, value in hparams.items():
        if key not in types and not open_ended:
            raise unknown(f"hyper-parameter of {arch.task}/{arch.name}", key, types, "hp_")
        kind = types.get(key)
        checked[key] = convert(value, kind, f"hp_{key}") if kind else value
    return checked


def check_data_options(task: Task, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against the task's declared data options and converted."""
    declared = task.data_options
    if declared is None:  # a task that does not declare them checks them itself
        return dict(options)
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in declared:
            raise unknown(f"data option of {task.name}", key, declared, "data_")
        checked[key] = convert(value, declared[key], f"data_{key}")
    return checked


@dataclass(frozen=True)
class Overrides:
    """Checked overrides of one run: the full recipe, builder hyper-parameters, data options."""

    recipe: Recipe
    hparams: dict[str, Any]
    data_options: dict[str, Any]


def check(task: Task, arch: Architecture, recipe: Mapping[str, Any] | None = None,
          hparams: Mapping[str, Any] | None = None,
          data_options: Mapping[str, Any] | None = None) -> Overrides:
    """Check every override of a run against its target; raise one line on the first bad one."""
    return Overrides(check_recipe(task, arch, {k: v for k, v in (recipe or {}).items()
                                               if v is not None}),
                     check_hparams(arch, hparams or {}),
                     check_data_options(task, data_options or {}))
