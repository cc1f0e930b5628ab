"""The training engine (train extra): recipe -> compiled Keras model -> fit -> run folder.

:func:`train_model` is the one place a recipe is applied - class balancing, class weights,
augmentation, early stopping, learning-rate schedule, the task's callbacks - and ``zoo
train`` (:func:`fit`), ``zoo tune`` (:mod:`zoo.tuning`) and ``zoo kfold`` (:mod:`zoo.kfold`)
all train through it, so a tuned or cross-validated recipe is the recipe that ships.

A run folder holds everything a user needs to trust and reuse the result: ``model.keras``,
``model.onnx`` (parity-checked), ``model.json`` (weights metadata with the exact command),
``metrics.json``, ``history.csv`` and plots. It is locked while a run writes to it, and
``BackupAndRestore`` keeps a checkpoint in ``checkpoint/`` so an interrupted ``zoo train``
resumes where it stopped (:mod:`zoo.run_folder`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo import __version__
from zoo.augment import apply as apply_augment
from zoo.augment import balance
from zoo.errors import MissingExtraError
from zoo.evaluation import measure
from zoo.io.files import atomic_write_text
from zoo.overrides import check as check_overrides
from zoo.registry import Architecture, get_architecture, get_task
from zoo.reports import history_plot
from zoo.run_folder import CHECKPOINT, HISTORY, RunFolder
from zoo.task import Dataset, Recipe, Split, Task
from zoo.weights import KERAS_WEIGHTS_SUFFIX, WeightsMeta, graph_outputs, sha256_file


def require_keras() -> Any:
    """Import Keras (TensorFlow backend) quietly, or explain which extra is missing."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
    except ImportError:
        raise MissingExtraError("training and Keras models") from None
    return keras


def create_model(task: str, arch: str | None = None, **hparams: Any) -> Any:
    """Build an untrained Keras model of ``task`` with architecture ``arch``."""
    require_keras()
    spec = get_architecture(task, arch)
    params = {**spec.defaults, **hparams}
    return spec.build(get_task(task), **params)


def make_optimizer(recipe: Recipe, steps_per_epoch: int) -> Any:
    keras = require_keras()
    lr: Any = recipe.learning_rate
    if recipe.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, recipe.epochs * steps_per_epoch))
    extra = {k: v for k, v in recipe.extra.items() if k.startswith("optimizer_")}
    config = {"learning_rate": lr, **{k.removeprefix("optimizer_"): v for k, v in extra.items()}}
    return keras.optimizers.get({"class_name": recipe.optimizer, "config": config})


def class_weights(recipe: Recipe, y: np.ndarray) -> dict[int, float] | None:
    if recipe.class_weight != "balanced":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.unique(y.astype(int))
    weights = compute_class_weight("balanced", classes=labels, y=y.astype(int))
    return {int(c): float(w) for c, w in zip(labels, weights, strict=True)}


def fit_inputs(task: Task, split: Split) -> list[np.ndarray] | np.ndarray:
    arrays = [split.x[name] for name in task.input_names()]
    return arrays if len(arrays) > 1 else arrays[0]


def _targets(task: Task, split: Split) -> Any:
    return task.fit_targets(split)


def monitor_mode(monitor: str) -> str:
    """"min" for losses and errors, "max" for scores (AUC, accuracy): EarlyStopping's mode."""
    lower_is_better = any(word in monitor for word in ("loss", "mae", "mse", "error"))
    return "min" if lower_is_better else "max"


def validation_data(task: Task, split: Split) -> tuple[Any, ...]:
    """``validation_data`` for ``model.fit``, with the split's sample weights when it has them."""
    data = (fit_inputs(task, split), _targets(task, split))
    return data if split.weights is None else (*data, split.weights)


def build_compiled(task: Task, spec: Architecture, recipe: Recipe, data: Dataset,
                   hparams: Mapping[str, Any]) -> Any:
    """The architecture built with ``hparams`` and compiled by the recipe."""
    model = spec.build(task, **hparams)
    steps = int(np.ceil(len(data.train) / recipe.batch_size))
    metrics = task_metrics(task, recipe, model)
    # With per-sample weights (jet-quench's physical weights) the monitored metrics must be
    # weighted too, so that early stopping watches what the seed measured.
    weighted = data.train.weights is not None
    model.compile(optimizer=make_optimizer(recipe, steps), loss=task_loss(task, recipe),
                  metrics=None if weighted else metrics, weighted_metrics=metrics if weighted else [])
    return model


class AugmentedBatches:
    """A ``keras.utils.PyDataset`` factory that augments the first input each batch."""

    def __new__(cls, task: Task, model: Any, split: Split, recipe: Recipe,
                sample_weight: np.ndarray | None) -> Any:
        keras = require_keras()
        base: Any = keras.utils.PyDataset

        class _Batches(base):
            def __init__(self) -> None:
                super().__init__()
                self.rng = np.random.default_rng(recipe.seed)
                self.order = self.rng.permutation(len(split))

            def __len__(self) -> int:
                return int(np.ceil(len(split) / recipe.batch_size))

            def __getitem__(self, idx: int) -> tuple[Any, ...]:
                sel = self.order[idx * recipe.batch_size:(idx + 1) * recipe.batch_size]
                xs = [split.x[name][sel] for name in task.input_names()]
                xs[0] = apply_augment(recipe.augmentation, xs[0], self.rng)
                y = _targets(task, Split({}, split.y[sel]))
                x = tuple(xs) if len(xs) > 1 else xs[0]  # PyDataset rejects lists
                if sample_weight is None:
                    return x, y
                return x, y, sample_weight[sel]

            def on_epoch_end(self) -> None:
                self.order = self.rng.permutation(len(split))

        return _Batches()


def rich_progress_callback(epochs: int, steps: int) -> Any:
    """A Keras callback drawing a Rich progress bar with the latest metrics."""
    keras = require_keras()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    base: Any = keras.callbacks.Callback
    Logs = Mapping[str, Any] | None

    class RichProgress(base):
        def on_train_begin(self, logs: Logs = None) -> None:
            self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                                     MofNCompleteColumn(), TimeRemainingColumn(),
                                     TextColumn("{task.fields[metrics]}"), transient=False)
            self.progress.start()
            self.bar = self.progress.add_task("train", total=steps, epoch=f"1/{epochs}", metrics="")

        def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
            self.progress.reset(self.bar, total=steps, epoch=f"{epoch + 1}/{epochs}", metrics="")

        def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
            shown = " ".join(f"{k}={float(v):.4f}" for k, v in (logs or {}).items())
            self.progress.update(self.bar, completed=batch + 1, metrics=shown)

        def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
            shown = " ".join(f"{k}={float(v):.4f}" for k, v in (logs or {}).items())
            self.progress.console.print(f"epoch {epoch + 1}: {shown}")

        def on_train_end(self, logs: Logs = None) -> None:
            self.progress.stop()

    return RichProgress()


@dataclass
class Trained:
    """A fitted model, its history and what the task's callbacks recorded for its metadata."""

    model: Any
    history: dict[str, list[float]]
    metadata: dict[str, Any]


def train_model(task: Task, spec: Architecture, recipe: Recipe, data: Dataset,
                hparams: Mapping[str, Any], *, callbacks: list[Any] | None = None,
                seed: int | None = None, checkpoint: Path | None = None,
                init: Path | None = None) -> Trained:
    """Build ``spec`` with ``hparams`` and fit it on ``data`` by ``recipe``.

    The recipe's own callbacks run first (NaN guard, early stopping with the best weights
    restored, plateau schedule), then the task's, then ``callbacks`` (a run folder's log and
    checkpoint, progress), so that a checkpoint never holds an epoch the others missed.
    A task callback with a ``weights_metadata`` dict (glitch-chirp's validation threshold,
    cluster-mass's sigma calibration under ``extra``) hands it to :attr:`Trained.metadata`:
    tasks hold no state between runs.
    With ``checkpoint`` (a run folder's) early stopping keeps its state there, so that a
    resumed run stops, and restores the best weights, as an uninterrupted one would.
    With ``init`` (Keras weights, see :func:`initial_weights`) training starts from them:
    fine-tuning.
    """
    keras = require_keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(recipe.seed if seed is None else seed)
    model = build_compiled(task, spec, recipe, data, {**spec.defaults, **dict(hparams)})
    if init is not None:
        model.load_weights(init)
    task_callbacks = task.callbacks(data, recipe)
    every = [*recipe_callbacks(recipe, checkpoint), *task_callbacks, *(callbacks or [])]

    train, val = data.train, data.validation
    if "balance" in recipe.augmentation:
        x, y, origin = balance(train.x, train.y, np.random.default_rng(recipe.seed),
                               task.input_names()[0])
        train = Split(x, y, None if train.weights is None else train.weights[origin])
    cw = class_weights(recipe, train.y)
    val_data = validation_data(task, val)
    if recipe.augmentation:
        history = model.fit(AugmentedBatches(task, model, train, recipe, train.weights),
                            epochs=recipe.epochs, validation_data=val_data, callbacks=every,
                            class_weight=cw, verbose=0)
    else:
        history = model.fit(fit_inputs(task, train), _targets(task, train),
                            sample_weight=train.weights, batch_size=recipe.batch_size,
                            epochs=recipe.epochs, validation_data=val_data, callbacks=every,
                            class_weight=cw, verbose=0, shuffle=True)
    metadata: dict[str, Any] = {}
    for callback in task_callbacks:
        metadata.update(getattr(callback, "weights_metadata", None) or {})
    return Trained(model, {k: [float(v) for v in vals] for k, vals in history.history.items()},
                   metadata)


def recipe_callbacks(recipe: Recipe, checkpoint: Path | None = None) -> list[Any]:
    """What the recipe asks of every fit: stop on NaN, early stopping, plateau schedule."""
    keras = require_keras()
    callbacks: list[Any] = [keras.callbacks.TerminateOnNaN()]
    if recipe.early_stopping_patience:
        stopping = keras.callbacks.EarlyStopping if checkpoint is None else \
            resumable_early_stopping(checkpoint)
        callbacks.append(stopping(monitor=recipe.monitor, mode=monitor_mode(recipe.monitor),
                                  patience=recipe.early_stopping_patience,
                                  restore_best_weights=True))
    if recipe.lr_schedule == "plateau":
        patience = max(2, (recipe.early_stopping_patience or 6) // 3)
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=recipe.monitor, factor=0.5,
                                                           patience=patience))
    return callbacks


def resumable_early_stopping(folder: Path) -> Any:
    """An ``EarlyStopping`` class keeping its state in ``folder`` (a run's checkpoint) after
    every epoch - best value, epochs without gain, best weights - and taking it back when
    training starts again, so that an interruption changes neither when the run stops nor
    which weights it ends with. Keras removes the folder when training ends."""
    keras = require_keras()
    state_file, weights_file = folder / "early_stopping.json", folder / "early_stopping_best.npz"

    early_stopping: Any = keras.callbacks.EarlyStopping

    class ResumableEarlyStopping(early_stopping):
        def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            super().on_train_begin(logs)
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                return
            self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
            if weights_file.exists():
                with np.load(weights_file) as saved:
                    self.best_weights = [saved[f"w{i}"] for i in range(len(saved.files))]

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            best_before = self.best_epoch
            super().on_epoch_end(epoch, logs)
            folder.mkdir(parents=True, exist_ok=True)
            if self.best_weights is not None and (self.best_epoch != best_before
                                                  or not weights_file.exists()):
                staged = folder / ".early_stopping_best.tmp.npz"
                np.savez(staged, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
                os.replace(staged, weights_file)
            best = None if self.best is None else float(self.best)
            atomic_write_text(state_file, json.dumps({"wait": self.wait, "best": best,
                                                      "best_epoch": self.best_epoch}))

    return ResumableEarlyStopping


@dataclass
class RunResult:
    out: Path
    meta: WeightsMeta
    metrics: dict[str, Any]
    history: dict[str, list[float]]
    #: epochs an interrupted run had completed before this call resumed it (0: a fresh run)
    resumed_from: int = 0


def fit(task_name: str, arch: str | None, out: str | Path, *, data: str | None = None,
        recipe_overrides: Mapping[str, Any] | None = None, hparams: Mapping[str, Any] | None = None,
        data_options: Mapping[str, Any] | None = None, command: str = "", name: str | None = None,
        progress: bool = True, dataset: Dataset | None = None,
        extra_callbacks: list[Any] | None = None, force: bool = False,
        init: str | None = None) -> RunResult:
    """Train ``task``/``arch`` by its recipe (with overrides) and write a complete run folder.

    Every override is checked before anything starts. The folder ``out`` is locked for the
    run; an interrupted run in it resumes (with the same settings only), a finished one is
    kept unless ``force``. ``init`` fine-tunes: training starts from those weights (a weight
    set's name, a run folder or a ``.weights.h5`` file; :func:`initial_weights`), which the
    metadata's ``fine_tuning`` section records.
    """
    task = get_task(task_name)
    spec = get_architecture(task_name, arch)
    checked = check_overrides(task, spec, recipe_overrides, hparams, data_options)
    keras = require_keras()
    recipe = checked.recipe
    params = {**spec.defaults, **checked.hparams}
    options = {**task.data_options_for(spec.name), **checked.data_options}
    start, fine_tuning = initial_weights(task.name, spec.name, init) if init else (None, None)
    settings = {"task": task.name, "arch": spec.name, "recipe": recipe.to_dict(),
                "hparams": params, "data": data, "data_options": options, "init": fine_tuning}

    with RunFolder(out, settings, force) as folder:
        dataset = dataset or task.load_data(data, recipe.seed, **options)
        steps = int(np.ceil(len(dataset.train) / recipe.batch_size))
        callbacks: list[Any] = [keras.callbacks.CSVLogger(str(folder.path / HISTORY), append=True),
                                keras.callbacks.BackupAndRestore(str(folder.path / CHECKPOINT)),
                                *(extra_callbacks or [])]
        if progress:
            callbacks.append(rich_progress_callback(recipe.epochs, steps))
        trained = train_model(task, spec, recipe, dataset, params, callbacks=callbacks,
                              checkpoint=folder.path / CHECKPOINT, init=start)
        history = folder.history() or trained.history
        extra = {**trained.metadata, **({"fine_tuning": fine_tuning} if fine_tuning else {})}
        result = finish_run(task, spec.name, trained.model, dataset, recipe, folder.path,
                            name or f"{task.name}-{spec.name}", command, history, params, extra)
        result.resumed_from = folder.initial_epoch
        return result


def initial_weights(task: str, arch: str, init: str) -> tuple[Path, dict[str, Any]]:
    """Keras weights to fine-tune from, and the ``fine_tuning`` record of where they came from.

    ``init``: a ``.weights.h5`` file, a run folder (its ``model.keras``), or a weight set's name
    or tag whose ``.weights.h5`` ships beside its ONNX file. The architecture must be the one
    being trained: Keras loads weights by layer, so another one cannot take them.
    """
    from zoo.errors import WeightsError
    from zoo.weights import resolve

    path = Path(init)
    if path.name.endswith(KERAS_WEIGHTS_SUFFIX) and path.is_file():
        return path, {"from": str(path), "sha256": sha256_file(path)}
    weights = resolve(task, init)
    if weights.meta.arch != arch:
        raise WeightsError(f"--init {init}: weights of architecture {weights.meta.arch!r}, "
                           f"not {arch!r} (pass --arch {weights.meta.arch})")
    source = weights.keras_weights
    if source is None and (weights.onnx.parent / "model.keras").is_file():
        source = weights.onnx.parent / "model.keras"  # a run folder
    if source is None:
        raise WeightsError(f"--init {init}: {weights.tag} ships no Keras weights "
                           f"({weights.onnx.stem}{KERAS_WEIGHTS_SUFFIX}) to fine-tune from")
    return source, {"from": weights.tag, "sha256": weights.meta.sha256,
                    "keras_weights_sha256": sha256_file(source)}


def task_loss(task: Task, recipe: Recipe) -> Any:
    loss = task.loss(recipe)
    return loss if loss is not None else recipe.loss


def task_metrics(task: Task, recipe: Recipe, model: Any) -> Any:
    metrics = task.keras_metrics(recipe)
    if metrics is not None:
        return metrics
    return list(recipe.metrics) if len(model.outputs) == 1 else None


def finish_run(task: Task, arch: str, model: Any, dataset: Dataset, recipe: Recipe, out: Path,
               name: str, command: str, history: dict[str, list[float]],
               hparams: dict[str, Any] | None = None,
               weights_metadata: Mapping[str, Any] | None = None) -> RunResult:
    """Save, export with parity check, measure on the test split, write metadata and plots."""
    from zoo.onnx_export import export_onnx

    tmp_keras = out / ".model.tmp.keras"
    model.save(tmp_keras)
    os.replace(tmp_keras, out / "model.keras")
    onnx_path = out / "model.onnx"
    export_onnx(model, onnx_path, {"task": task.name, "arch": arch, "classes": ",".join(task.classes),
                                   "preprocessing": task.preprocessing, "zoo_version": __version__})
    fitted = dict(weights_metadata or {})
    threshold = fitted.get("threshold")
    metrics = measure(task, onnx_path, dataset.test, threshold, out)
    baseline = task.baseline(dataset)
    if history:
        history_plot(history, out / "history.png")
    meta = WeightsMeta(
        task=task.name, arch=arch, name=name, classes=list(task.classes),
        inputs=[{"name": t.name, "shape": [int(d) for d in t.shape[1:]], "dtype": "float32"}
                for t in model.inputs],
        outputs=task.output_specs(graph_outputs(onnx_path)),
        preprocessing=task.preprocessing, metrics=metrics, command=command,
        data_source=dataset.source, num_params=int(model.count_params()),
        sha256=sha256_file(onnx_path), recipe=recipe.to_dict(),
        trained_on_simulation=bool(dataset.source.get("simulated", False)), baseline=baseline,
        zoo_version=__version__, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        file="model.onnx", extra={"epochs_run": len(next(iter(history.values()), [])),
                                  "hparams": dict(hparams or {}), **fitted.pop("extra", {})},
        **fitted,
    )
    meta.save(out / "model.json")
    atomic_write_text(out / "metrics.json", json.dumps({"test": metrics, "baseline": baseline,
                                                       "history": history}, indent=2) + "\n")
    return RunResult(out, meta, metrics, history)
