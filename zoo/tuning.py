"""Hyper-parameter search with Optuna over an architecture's registered ``search_space``.

Seed 001 tuned every architecture with Optuna; this module does the same for any task.
``search_space(trial)`` returns one dict: keys that name a :class:`zoo.task.Recipe` field
(``learning_rate``, ``batch_size``, ...) override the recipe, every other key is a
hyper-parameter of the builder. Each trial trains through the same engine as ``zoo train``
(:func:`zoo.training.train_model`: loss, optimizer, sample weights, balancing, class
weights, augmentation, the task's callbacks, early stopping on the recipe's monitor) for at
most ``epochs`` epochs and scores the best value the monitor reached on the validation
split; nothing touches the test split, which stays held out for the final ``zoo train`` run
of the best trial.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from zoo.errors import ZooError
from zoo.registry import get_architecture, get_task
from zoo.task import Dataset, Recipe

RECIPE_FIELDS = frozenset(f.name for f in dataclasses.fields(Recipe))


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(recipe overrides, builder hyper-parameters) of one trial's parameters."""
    recipe = {k: v for k, v in params.items() if k in RECIPE_FIELDS}
    hparams = {k: v for k, v in params.items() if k not in RECIPE_FIELDS}
    return recipe, hparams


Direction = Literal["minimize", "maximize"]


def direction(monitor: str) -> Direction:
    """Optuna direction for a monitored metric (as EarlyStopping infers its mode)."""
    from zoo.training import monitor_mode

    return "minimize" if monitor_mode(monitor) == "min" else "maximize"


@dataclass
class TrialResult:
    number: int
    value: float | None
    recipe: dict[str, Any]
    hparams: dict[str, Any]
    epochs: int
    state: str
    error: str = ""


@dataclass
class TuneResult:
    task: str
    arch: str
    monitor: str
    direction: Direction
    trials: list[TrialResult] = field(default_factory=list)
    best: TrialResult | None = None
    #: recipe overrides the user fixed for every trial (the search space's values win)
    overrides: dict[str, Any] = field(default_factory=dict)

    def best_recipe(self) -> dict[str, Any]:
        """Recipe overrides of the best trial, the user's fixed ones included."""
        return {**self.overrides, **(self.best.recipe if self.best else {})}

    def train_command(self, epochs: int | None = None) -> str:
        """The ``zoo train`` command that trains the best trial's recipe in full."""
        if self.best is None:
            return ""
        args = ["zoo", "train", self.task, "--arch", self.arch]
        for key, value in self.best_recipe().items():
            if key == "epochs" and epochs:
                continue
            args += [f"--{key.replace('_', '-')}", str(value)]
        for key, value in self.best.hparams.items():
            args += [f"--hp-{key.replace('_', '-')}", str(value)]
        if epochs:
            args += ["--epochs", str(epochs)]
        return shlex.join(args)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "arch": self.arch, "monitor": self.monitor,
                "direction": self.direction, "trials": [dataclasses.asdict(t) for t in self.trials],
                "best": dataclasses.asdict(self.best) if self.best else None,
                "overrides": self.overrides,
                "train_command": self.train_command()}


def _fit_trial(task_name: str, arch: str, data: Dataset, recipe: Recipe,
               hparams: Mapping[str, Any]) -> tuple[float, int]:
    """Train one candidate; the best validation value of the monitor and epochs run."""
    from zoo.training import monitor_mode, train_model

    spec = get_architecture(task_name, arch)
    history = train_model(get_task(task_name), spec, recipe, data, hparams).history
    values = history.get(recipe.monitor)
    if not values:
        raise ZooError(f"the monitor {recipe.monitor!r} was not logged; logged: "
                       f"{', '.join(history)}")
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        raise ZooError(f"{recipe.monitor} was never finite (training diverged)")
    best = min(finite) if monitor_mode(recipe.monitor) == "min" else max(finite)
    return float(best), len(values)


def tune(task_name: str, arch: str | None = None, n_trials: int = 10, *,
         data: Dataset | None = None, source: str | None = None,
         data_options: Mapping[str, Any] | None = None,
         recipe_overrides: Mapping[str, Any] | None = None, epochs: int | None = None,
         seed: int | None = None,
         on_trial: Callable[[TrialResult], None] | None = None) -> TuneResult:
    """Run ``n_trials`` Optuna (TPE, seeded) trials maximising/minimising the task's monitor.

    ``recipe_overrides`` and ``data_options`` are checked before anything starts; ``epochs``
    caps every trial."""
    import optuna

    from zoo.overrides import check

    task = get_task(task_name)
    spec = get_architecture(task_name, arch)
    if spec.search_space is None:
        raise ZooError(f"architecture {spec.name!r} of {task_name} has no search space to tune")
    checked = check(task, spec, {**dict(recipe_overrides or {}), "epochs": epochs, "seed": seed},
                    data_options=data_options)
    base = checked.recipe
    options = {**task.data_options_for(spec.name), **checked.data_options}
    data = data or task.load_data(source, base.seed, **options)
    result = TuneResult(task_name, spec.name, base.monitor, direction(base.monitor),
                        overrides={k: v for k, v in dict(recipe_overrides or {}).items()
                                   if v is not None})

    search_space = spec.search_space

    def objective(trial: Any) -> float:
        params = search_space(trial)
        recipe_changes, hparams = split_params(params)
        recipe = base.override(**recipe_changes)
        try:
            value, ran = _fit_trial(task_name, spec.name, data, recipe, hparams)
        except ZooError as exc:
            record = TrialResult(trial.number, None, recipe_changes, hparams, 0, "failed", str(exc))
            result.trials.append(record)
            if on_trial:
                on_trial(record)
            raise optuna.TrialPruned(str(exc)) from None
        record = TrialResult(trial.number, value, recipe_changes, hparams, ran, "complete")
        result.trials.append(record)
        if on_trial:
            on_trial(record)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=result.direction,
                                sampler=optuna.samplers.TPESampler(seed=base.seed))
    study.optimize(objective, n_trials=n_trials)
    scored = [(t.value, t) for t in result.trials if t.value is not None]
    if scored:
        pick = min if result.direction == "minimize" else max
        result.best = pick(scored, key=lambda pair: pair[0])[1]
    return result
