"""What a task declares: its inputs, classes, preprocessing, data, metrics and recipe.

A task is a subclass of :class:`Task` registered with :func:`zoo.registry.register_task`.
Everything the core needs to know about it lives on that class, so adding a task never
touches a core module. Nothing here imports TensorFlow: reading files and decoding model
outputs must work in the inference-only install.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from zoo.io.files import expand_inputs

if TYPE_CHECKING:
    from zoo.weights import WeightsMeta

TaskKind = Literal["classification", "binary", "regression"]


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name in the ONNX graph, per-sample shape and meaning."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    description: str = ""


@dataclass(frozen=True)
class OutputSpec:
    """One model output: how to read it (``zoo.weights.OUTPUT_KINDS``) and what it means."""

    name: str
    kind: str  # "softmax" | "sigmoid" | "regression" | "gaussian" (mean, log sigma)
    width: int
    meaning: str = ""


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: plain data, overridable from the CLI, stored with the weights."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str | None = None  # None | "cosine" | "plateau"
    epochs: int = 20
    batch_size: int = 64
    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    monitor: str = "val_loss"
    early_stopping_patience: int | None = 5
    class_weight: str | None = None  # None | "balanced"
    augmentation: tuple[str, ...] = ()
    seed: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def override(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied; strings from the CLI are coerced to field types."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        coerced: dict[str, Any] = {}
        extra = dict(self.extra)
        for key, value in changes.items():
            if value is None:
                continue
            if key not in fields:
                extra[key] = value
                continue
            current = getattr(self, key)
            coerced[key] = _coerce(value, current)
        return dataclasses.replace(self, **coerced, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["metrics"] = list(self.metrics)
        data["augmentation"] = list(self.augmentation)
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("metrics", "augmentation"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


def _coerce(value: Any, like: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.lower() in ("none", "null", ""):
        return None
    if isinstance(like, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    if isinstance(like, tuple):
        return tuple(v for v in value.split(",") if v)
    return value


def option_types(options: type) -> dict[str, type]:
    """``{field: type of its default}`` of an options dataclass (a simulator's settings),
    for :attr:`Task.data_options`."""
    return {f.name: type(f.default) for f in dataclasses.fields(options)}


@dataclass
class Split:
    """One data split: inputs by name, targets, optional per-sample weights and ids."""

    x: dict[str, np.ndarray]
    y: np.ndarray
    weights: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    """train / validation / test splits plus a description of where they came from."""

    train: Split
    validation: Split
    test: Split
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One prediction unit: a key shown to the user and the files (or text) it is read from."""

    key: str
    sources: tuple[str, ...]
    group: str = "single"  # lets a task route samples to different architectures


def data_seed(meta: WeightsMeta, seed: int | None = None) -> int:
    """The seed that re-creates a weight set's data: ``seed`` when given, else its recipe's."""
    return int((meta.recipe or {}).get("seed", 0)) if seed is None else seed


class Task:
    """Base class of every task; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    kind: ClassVar[TaskKind] = "classification"
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[InputSpec, ...]]
    classes: ClassVar[tuple[str, ...]] = ()
    preprocessing: ClassVar[str] = ""  # id stored in weights; changes when preprocessing does
    preprocessing_doc: ClassVar[str] = ""
    data_sources: ClassVar[dict[str, str]] = {}
    recipe: ClassVar[Recipe] = Recipe()
    default_arch: ClassVar[str] = ""
    headline_metric: ClassVar[str] = "accuracy"
    #: False for error metrics (scatter, MAE): int8 checks and reports then count a rise as a loss
    headline_higher_is_better: ClassVar[bool] = True
    default_weights: ClassVar[str] = ""
    #: extra ``--name value`` options that ``zoo predict`` accepts for this task, with types
    predict_options: ClassVar[dict[str, type]] = {}
    #: ``--data-NAME value`` options that ``load_data`` accepts, with types; checked before a
    #: run starts (None: the task checks its own options)
    data_options: ClassVar[Mapping[str, type] | None] = None
    #: what the seed or textbook reports for comparison, shown by ``zoo info``
    reference: ClassVar[str] = ""
    #: the model's outputs; empty derives one output from ``kind`` (see :meth:`output_specs`)
    outputs: ClassVar[tuple[OutputSpec, ...]] = ()

    # ---- inference side (no TensorFlow) -------------------------------------------------
    def samples(self, items: Iterable[str], options: Mapping[str, Any]) -> Iterator[Sample]:
        """Turn CLI/API items (files, directories, globs) into samples, lazily."""
        for path in expand_inputs(items):
            yield Sample(key=str(path), sources=(str(path),))

    def weights_for_group(self, group: str) -> str:
        """Name of the shipped weight set that serves samples of ``group`` by default."""
        return self.default_weights

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Read one sample into model inputs (per-sample shapes, no batch axis).

        Entries whose key starts with ``_`` are notes for the user (shown with --verbose),
        not model inputs. Raise :class:`zoo.errors.InputError` for unusable input.
        """
        raise NotImplementedError

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Cheap input evidence for the out-of-distribution score (:mod:`zoo.ood`) of a batch:
        ``{name: (n,) array}``. The default has none, so only output evidence counts."""
        return {}

    def ood_output_features(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray] | None:
        """Output evidence for the same score where the task knows its outputs better; None
        (the default) takes :func:`zoo.ood.output_features` for the task's kind."""
        return None

    def decode(self, outputs: list[np.ndarray], top_k: int = 1,
               meta: WeightsMeta | None = None) -> list[dict[str, Any]]:
        """Batch of raw model outputs -> one result dict per sample.

        ``meta`` is the metadata of the weights that produced ``outputs``: their classes
        (not the task's) name the labels, so weights trained on other classes decode right.
        """
        if self.kind == "regression":
            return [{"value": float(v)} for v in outputs[0].reshape(len(outputs[0]), -1)[:, 0]]
        classes = tuple(meta.classes) if meta is not None else self.classes
        probs = outputs[0]
        if self.kind == "binary" or probs.shape[-1] == 1:
            p = probs.reshape(-1)
            positive = classes[1] if len(classes) == 2 else "positive"
            negative = classes[0] if len(classes) == 2 else "negative"
            return [
                {"label": positive if q >= 0.5 else negative, "probability": float(q if q >= 0.5 else 1 - q),
                 "score": float(q)}
                for q in p
            ]
        order = np.argsort(-probs, axis=1)[:, : max(1, top_k)]
        results = []
        for row, idx in zip(probs, order, strict=True):
            top = [{"label": classes[i], "probability": float(row[i])} for i in idx]
            results.append({"label": top[0]["label"], "probability": top[0]["probability"], "top": top})
        return results

    # ---- training side ------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        """Load train/validation/test from ``source`` (a file) or the built-in default."""
        raise NotImplementedError

    def data_options_for(self, arch: str) -> dict[str, Any]:
        """Data options an architecture needs (e.g. the glitch multi-view mosaic)."""
        return {}

    def loss(self, recipe: Recipe) -> Any:
        """A Keras loss object when ``recipe.loss`` (a name) is not enough; None otherwise."""
        return None

    def keras_metrics(self, recipe: Recipe) -> list[Any] | None:
        """Keras metric objects to compile with; None uses ``recipe.metrics``."""
        return None

    def callbacks(self, data: Dataset, recipe: Recipe) -> list[Any]:
        """Extra Keras callbacks the task's recipe needs (e.g. an AUC monitor)."""
        return []

    def fit_targets(self, split: Split) -> Any:
        """Targets handed to ``model.fit`` for ``split``."""
        return split.y

    def load_data_for(self, meta: WeightsMeta, source: str | None = None,
                      seed: int | None = None, **overrides: Any) -> Dataset:
        """The data a weight set was measured on, re-created from its metadata.

        With ``source`` (a user's file) that file is read with the architecture's data
        options. Without it the recorded file is re-read while it is still there unchanged
        (its sha256 as recorded: a relative path may name another file from another folder),
        otherwise the recorded options (simulator seed, sizes, view) are replayed.
        ``overrides`` win, and ``seed`` replaces the recorded seed (simulator and split): a
        fresh seed gives data the weights never saw.
        """
        recorded = meta.data_source or {}
        options = self.data_options_for(meta.arch)
        if source is None:
            path = recorded.get("path")
            simulated = recorded.get("simulated") or recorded.get("type") == "simulator"
            if path and not simulated and _unchanged(Path(path), recorded.get("sha256")):
                source = path
            options.update(recorded.get("options", {}))
        options.update(overrides)
        return self.load_data(source, data_seed(meta, seed), **options)

    def evaluate(self, split: Split, outputs: list[np.ndarray],
                 out_dir: Path | None = None) -> dict[str, Any]:
        """Metrics of model ``outputs`` on ``split``; may write plots into ``out_dir``."""
        from zoo.reports import classification_report

        return classification_report(self, split, outputs, out_dir)

    def baseline(self, data: Dataset) -> dict[str, Any] | None:
        """A classical method on the same data, measured on the test split (optional)."""
        return None

    # ---- description ----------------------------------------------------------------------
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def output_specs(self, graph_outputs: list[tuple[str, int]]) -> list[dict[str, Any]]:
        """The ``outputs`` metadata of a model whose graph has these (name, width) outputs.

        A task that declares :attr:`outputs` gets those (under the graph's names); otherwise
        ``kind`` decides: classification -> softmax, binary -> sigmoid, regression -> values.
        """
        kind = {"classification": "softmax", "binary": "sigmoid"}.get(self.kind, "regression")
        declared = self.outputs or tuple(OutputSpec("", kind, width) for _, width in graph_outputs)
        meaning = {"softmax": "probability of each class, in the order of classes",
                   "sigmoid": f"probability of {self.classes[-1] if self.classes else 'the positive class'}",
                   "regression": "predicted value"}
        return [{"name": name, "kind": spec.kind, "width": int(width),
                 "meaning": spec.meaning or meaning.get(spec.kind, "")}
                for (name, width), spec in zip(graph_outputs, declared, strict=True)]

    def model_card(self) -> str:
        """The model card shipped in ``zoo/cards/``: ``<task>.md``, else the card of the task's
        package (glitch-chirp shares ``glitch.md``, the textbook tasks ``textbook.md``);
        empty when there is none."""
        from importlib import resources

        cards = resources.files("zoo.cards")
        package = type(self).__module__.split(".")
        names = [self.name, *([package[2].replace("_", "-")] if package[:2] == ["zoo", "tasks"]
                              and len(package) > 2 else [])]
        for name in names:
            card = cards / f"{name}.md"
            if card.is_file():
                return card.read_text(encoding="utf-8")
        return ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "inputs": [dataclasses.asdict(spec) for spec in self.inputs],
            "classes": list(self.classes),
            "preprocessing": self.preprocessing,
            "preprocessing_doc": self.preprocessing_doc,
            "data_sources": dict(self.data_sources),
            "recipe": self.recipe.to_dict(),
            "headline_metric": self.headline_metric,
            "reference": self.reference,
        }


def _unchanged(path: Path, sha256: str | None) -> bool:
    """True if ``path`` is a file with this sha256 (any file, where none was recorded)."""
    if not path.is_file():
        return False
    if sha256 is None:
        return True
    from zoo.weights import sha256_file

    return sha256_file(path) == sha256
