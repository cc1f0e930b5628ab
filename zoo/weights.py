"""Weight sets: an ONNX file plus the metadata JSON beside it, which the runtime trusts.

A weight set is named ``<name>.v<version>`` (``glitch-multiview.v2``): the version goes up
whenever different bytes ship under the same name, so a name and version always mean the
same file. A bare name resolves to its newest version, and ``default`` to the task's default
weight set. The metadata (:class:`WeightsMeta`) is validated against one schema when it is
read: a list, a number, a missing field or ``sha256: null`` is refused in one line naming the
file, before any weights are loaded. It records what the predictor needs to trust the file
(task, classes, inputs, outputs and their kind, preprocessing id) and what a user needs to
reproduce it (command, data provenance, held-out metrics, parameter count, sha256, zoo
version). Shipped weights live in ``zoo/pretrained/<task>/``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zoo import home
from zoo.errors import DuplicateNameError, UnknownNameError, WeightsError
from zoo.io.files import atomic_write_text

METADATA_SUFFIX = ".json"
#: Keras weights beside the ONNX file, for fine-tuning (``create_model(..., pretrained=True)``)
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
#: How a model output is read: class probabilities (softmax), one positive-class probability
#: (sigmoid), plain values (regression), or a mean and log standard deviation (gaussian).
OUTPUT_KINDS = ("softmax", "sigmoid", "regression", "gaussian")
#: Tolerance on softmax rows summing to one (float32 exports sum to 1 within ~1e-6).
SOFTMAX_TOLERANCE = 1e-3

_TAG = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*?)(?:\.v(?P<version>[0-9]+))?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class WeightsMeta:
    """Everything known about one trained weight file (the JSON beside it)."""

    task: str
    arch: str
    name: str
    classes: list[str]
    inputs: list[dict[str, Any]]
    preprocessing: str
    metrics: dict[str, Any]
    command: str
    data_source: dict[str, Any]
    num_params: int
    sha256: str
    #: one entry per graph output: name, kind (:data:`OUTPUT_KINDS`), width, meaning
    outputs: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1
    #: the sample group this weight set serves ("single", or "multiview" for glitch mosaics)
    group: str = "single"
    recipe: dict[str, Any] = field(default_factory=dict)
    trained_on_simulation: bool = False
    baseline: dict[str, Any] | None = None
    notes: str = ""
    zoo_version: str = ""
    created: str = ""
    file: str = ""
    #: out-of-distribution calibration (zoo.ood)
    ood: dict[str, Any] | None = None
    #: decision threshold chosen on validation data, read back by the task
    threshold: dict[str, Any] | None = None
    #: where the weight set was published on (or pulled from) the Hugging Face Hub
    hub: dict[str, Any] | None = None
    #: the weight set this one was fine-tuned from, and how
    fine_tuning: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """``<name>.v<version>``: the one identifier of these exact bytes."""
        return f"{self.name}.v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=_jsonable) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "weights metadata") -> WeightsMeta:
        """Validated metadata; anything off the schema is one :class:`WeightsError` line."""
        validate(data, str(source))
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> WeightsMeta:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path}: unreadable weights metadata ({exc})") from None
        return cls.from_dict(data, path)

    def save(self, path: str | Path) -> None:
        validate(self.to_dict(), str(path))
        atomic_write_text(path, self.to_json())


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---- schema -------------------------------------------------------------------------------
_STR, _INT, _BOOL, _LIST, _DICT = "a string", "an integer", "true or false", "a list", "an object"
_OPTIONAL_SECTIONS = ("baseline", "ood", "threshold", "hub", "fine_tuning")


def _is(kind: str, value: Any) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _LIST:
        return isinstance(value, list)
    return isinstance(value, dict)


_FIELD_TYPES = {
    "task": _STR, "arch": _STR, "name": _STR, "classes": _LIST, "inputs": _LIST,
    "outputs": _LIST, "preprocessing": _STR, "metrics": _DICT, "command": _STR,
    "data_source": _DICT, "num_params": _INT, "sha256": _STR, "version": _INT, "group": _STR,
    "recipe": _DICT, "trained_on_simulation": _BOOL, "notes": _STR, "zoo_version": _STR,
    "created": _STR, "file": _STR, "extra": _DICT, **dict.fromkeys(_OPTIONAL_SECTIONS, _DICT),
}
_REQUIRED = ("task", "arch", "name", "classes", "inputs", "outputs", "preprocessing", "metrics",
             "command", "data_source", "num_params", "sha256")


def validate(data: Any, source: str = "weights metadata") -> None:
    """Raise a one-line :class:`WeightsError` naming ``source`` unless ``data`` fits the schema."""

    def refuse(problem: str) -> WeightsError:
        return WeightsError(f"{source}: invalid weights metadata: {problem}")

    if not isinstance(data, dict):
        raise refuse(f"expected a JSON object, got {_json_type(data)}")
    unknown = sorted(set(data) - set(_FIELD_TYPES))
    if unknown:
        raise refuse(f"unknown field {unknown[0]!r} (put free-form data under 'extra')")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise refuse(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for key, kind in _FIELD_TYPES.items():
        if key in data and not _is(kind, data[key]):
            if data[key] is None and key in _OPTIONAL_SECTIONS:
                continue
            raise refuse(f"{key!r} must be {kind}, got {_json_type(data[key])}")
    if not _TAG.match(data["name"]) or _TAG.match(data["name"])["version"]:  # type: ignore[index]
        raise refuse(f"name {data['name']!r} must be letters, digits, '-' or '_' without a .vN tag")
    if data.get("version", 1) < 1:
        raise refuse(f"version must be 1 or more, got {data['version']}")
    if not _SHA256.match(data["sha256"]):
        raise refuse(f"sha256 must be 64 lowercase hex digits, got {data['sha256']!r}")
    if not all(isinstance(c, str) for c in data["classes"]):
        raise refuse("classes must be strings")
    if not data["inputs"]:
        raise refuse("inputs is empty")
    for item in data["inputs"]:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                and isinstance(item.get("shape"), list)
                and all(_is(_INT, d) and d > 0 for d in item["shape"])):
            raise refuse(f"each input needs a name and a shape of positive integers, got {item!r}")
    if not data["outputs"]:
        raise refuse("outputs is empty")
    for item in data["outputs"]:
        problem = _output_problem(item, data["classes"])
        if problem:
            raise refuse(problem)


def _output_problem(item: Any, classes: list[str]) -> str:
    if not (isinstance(item, dict) and isinstance(item.get("name"), str)
            and _is(_INT, item.get("width")) and item["width"] > 0):
        return f"each output needs a name and a positive width, got {item!r}"
    kind, width, name = item.get("kind"), item["width"], item["name"]
    if kind not in OUTPUT_KINDS:
        return f"output {name!r} has kind {kind!r}; valid: {', '.join(OUTPUT_KINDS)}"
    if kind == "softmax" and (width != len(classes) or width < 2):
        return f"softmax output {name!r} has width {width} but {len(classes)} classes"
    if kind == "sigmoid" and (width != 1 or len(classes) != 2):
        return f"sigmoid output {name!r} must have width 1 and 2 classes, has {width} and {len(classes)}"
    if kind == "gaussian" and width != 2:
        return f"gaussian output {name!r} must have width 2 (mean, log sigma), has {width}"
    return ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def graph_outputs(onnx_path: str | Path) -> list[tuple[str, int]]:
    """(name, width per sample) of each output of an ONNX graph, for the ``outputs`` field."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return [(o.name, int(np.prod([d if isinstance(d, int) else 1 for d in o.shape[1:]])))
            for o in session.get_outputs()]


# ---- weight sets on disk --------------------------------------------------------------------
@dataclass(frozen=True)
class WeightSet:
    """One weight set on disk: the ONNX file and its validated metadata."""

    onnx: Path
    meta: WeightsMeta

    @property
    def tag(self) -> str:
        return self.meta.tag

    @property
    def keras_weights(self) -> Path | None:
        """The ``<stem>.weights.h5`` beside the ONNX file, when one ships; checked against the
        sha256 that ``extra.keras_weights`` records, if any."""
        path = self.onnx.with_name(self.onnx.name[: -len(".onnx")] + KERAS_WEIGHTS_SUFFIX)
        if not path.is_file():
            return None
        recorded = (self.meta.extra.get("keras_weights") or {}).get("sha256")
        if recorded and sha256_file(path) != recorded:
            raise WeightsError(f"{path}: corrupt Keras weights (sha256 does not match "
                               f"{recorded[:12]}... in its metadata); reinstall them")
        return path

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in self.meta.metrics.items()
                            if isinstance(v, float))
        return (f"WeightSet({self.tag!r}, task={self.meta.task!r}, arch={self.meta.arch!r}"
                + (f", {metrics}" if metrics else "") + ")")

    def verify(self) -> None:
        """Check the ONNX file against the sha256 in its metadata."""
        if not self.onnx.is_file():
            raise WeightsError(f"{self.onnx}: weight file missing")
        actual = sha256_file(self.onnx)
        if actual != self.meta.sha256:
            raise WeightsError(
                f"{self.onnx}: corrupt weight file (sha256 {actual[:12]}... does not match "
                f"{self.meta.sha256[:12]}... in its metadata); reinstall or retrain it"
            )

    def check_task(self, task: str, preprocessing: str) -> None:
        """Refuse, in one line, weights made for another task or another preprocessing."""
        meta = self.meta
        if meta.task != task:
            raise WeightsError(f"weights {self.tag} ({self.onnx}) are for task {meta.task!r}, "
                               f"not {task!r}; use `zoo predict {meta.task}` or other weights")
        if meta.preprocessing != preprocessing:
            raise WeightsError(f"weights {self.tag} expect preprocessing {meta.preprocessing!r}, "
                               f"but task {task} now reads inputs as {preprocessing!r}; "
                               "retrain them or install the zoo version that made them")

    def check_graph(self, outputs: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Refuse a graph whose outputs (name, shape) do not match the declared outputs."""
        declared = self.meta.outputs
        if len(outputs) != len(declared):
            raise WeightsError(f"weights {self.tag}: the ONNX graph has {len(outputs)} outputs, "
                               f"the metadata declares {len(declared)}")
        for (name, shape), spec in zip(outputs, declared, strict=True):
            width = int(np.prod([d for d in shape[1:] if isinstance(d, int)] or [1]))
            if all(isinstance(d, int) for d in shape[1:]) and width != spec["width"]:
                raise WeightsError(
                    f"weights {self.tag}: output {name!r} has width {width}, the metadata "
                    f"declares {spec['width']} ({spec['kind']}"
                    + (f" over {len(self.meta.classes)} classes)" if self.meta.classes else ")"))

    def check_outputs(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """Rows whose outputs are finite (a mask); raise when outputs break their declared kind.

        Non-finite rows are left to the caller to report per sample: they never reach a
        decoded result. Probabilities outside [0, 1], or softmax rows not summing to one, mean
        the weights are not what their metadata says, so the whole weight set is refused.
        """
        n = len(outputs[0])
        finite = np.ones(n, dtype=bool)
        for array, spec in zip(outputs, self.meta.outputs, strict=False):
            rows = np.asarray(array, dtype=np.float64).reshape(n, -1)
            if rows.shape[1] != spec["width"]:
                raise WeightsError(f"weights {self.tag}: output {spec['name']!r} has width "
                                   f"{rows.shape[1]}, the metadata declares {spec['width']}")
            ok = np.isfinite(rows).all(axis=1)
            finite &= ok
            good = rows[ok]
            if spec["kind"] in ("softmax", "sigmoid") and good.size and (
                    good.min() < -SOFTMAX_TOLERANCE or good.max() > 1 + SOFTMAX_TOLERANCE):
                raise WeightsError(
                    f"weights {self.tag}: output {spec['name']!r} is declared {spec['kind']} "
                    f"probabilities but holds {_worst(good):.4g}, outside [0, 1]")
            if spec["kind"] == "softmax" and good.size:
                sums = good.sum(axis=1)
                worst = float(sums[np.argmax(np.abs(sums - 1))])
                if abs(worst - 1) > SOFTMAX_TOLERANCE:
                    raise WeightsError(
                        f"weights {self.tag}: softmax output {spec['name']!r} has a row summing "
                        f"to {worst:.4g}, not 1: not probabilities")
        return finite


def _worst(values: np.ndarray) -> float:
    """The value furthest outside [0, 1]."""
    low, high = float(values.min()), float(values.max())
    return low if -low > high - 1 else high



def shipped_root() -> Path:
    return Path(str(resources.files("zoo.pretrained")))


def shipped_dir(task: str) -> Path:
    """Folder with the shipped weights of ``task`` (may not exist)."""
    return shipped_root() / task


def read_folder(folder: Path) -> list[WeightSet]:
    """Every ``<stem>.onnx`` + ``<stem>.json`` pair in ``folder``, sorted by name and version."""
    sets = [WeightSet(meta_path.with_suffix(".onnx"), WeightsMeta.from_file(meta_path))
            for meta_path in sorted(folder.glob(f"*{METADATA_SUFFIX}"))
            if meta_path.with_suffix(".onnx").exists()]
    seen: dict[str, Path] = {}
    for found in sets:
        if found.tag in seen:
            raise DuplicateNameError(f"{folder}: weights {found.tag} shipped twice "
                                     f"({seen[found.tag].name} and {found.onnx.name})")
        seen[found.tag] = found.onnx
    return sorted(sets, key=lambda s: (s.meta.name, s.meta.version))


def list_weights(task: str | None = None, pattern: str = "*") -> list[WeightSet]:
    """Weight sets of ``task`` (every task when None) whose ``name.vN`` tag matches the glob
    ``pattern``: the shipped ones, then the user's (:mod:`zoo.home`), each sorted by name and
    version. A user weight set hides a shipped one of the same name (``zoo ship --force``)."""
    roots = (shipped_root(), home.weights_root())
    tasks = [task] if task else sorted({p.name for r in roots if r.is_dir()
                                        for p in r.iterdir() if p.is_dir()})
    found: list[WeightSet] = []
    for name in tasks:
        shipped, user = (read_folder(r / name) if (r / name).is_dir() else [] for r in roots)
        mine = {s.meta.name for s in user}
        found.extend(s for s in [*shipped, *user] if (s in user or s.meta.name not in mine) and (
            fnmatch.fnmatch(s.tag, pattern) or fnmatch.fnmatch(s.meta.name, pattern)))
    return found


def parse_tag(text: str) -> tuple[str, int | None]:
    """``"glitch-multiview.v2"`` -> ("glitch-multiview", 2); a bare name -> (name, None)."""
    match = _TAG.match(text)
    if not match:
        return text, None
    version = match["version"]
    return match["name"], int(version) if version else None


def origin(onnx: str | Path, task: str, name: str) -> str:
    """Where a weight set lives, as ``zoo list`` shows it: "shipped", "user", or "user,
    shadows shipped" when a shipped weight set of the task has the same name."""
    if not home.is_user_weights(onnx):
        return "shipped"
    folder = shipped_dir(task)
    shadowed = folder.is_dir() and any(s.meta.name == name for s in read_folder(folder))
    return "user, shadows shipped" if shadowed else "user"


def resolve(task: str, weights: str | Path = "default", arch: str | None = None,
            default: str = "") -> WeightSet:
    """Find a weight set: ``default``, a shipped ``name`` or ``name.vN``, an ``.onnx`` file or
    a run folder. ``default`` is the task's default weight set (its newest version), or with
    ``arch`` the newest shipped weights of that architecture."""
    text = str(weights)
    if text.startswith("hf://"):
        from zoo import hub

        return hub.resolve(text, task)
    path = Path(text)
    if path.suffix == ".onnx" or path.is_dir():
        return _resolve_path(path)
    shipped = list_weights(task)
    if not shipped:
        raise WeightsError(
            f"no weights for task {task!r}, shipped or in {home.weights_root()}; train some with "
            f"`zoo train {task}` and pass --weights RUN_DIR, or `zoo pull ORG/REPO`"
        )
    if text == "default":
        candidates = [s for s in shipped if arch is None or s.meta.arch == arch]
        if not candidates:
            raise UnknownNameError(f"shipped weights of {task} for arch", arch or "",
                                   sorted({s.meta.arch for s in shipped}))
        named = [s for s in candidates if s.meta.name == default]
        return _newest(named or [s for s in candidates if s.meta.name == candidates[0].meta.name])
    name, version = parse_tag(text)
    matches = [s for s in shipped if s.meta.name == name
               and (version is None or s.meta.version == version)]
    if not matches:
        raise UnknownNameError(f"weights of {task}", text,
                               sorted({s.meta.name for s in shipped} | {s.tag for s in shipped}))
    return _newest(matches)


def _newest(sets: list[WeightSet]) -> WeightSet:
    return max(sets, key=lambda s: s.meta.version)


def _resolve_path(path: Path) -> WeightSet:
    if path.is_dir():
        metas = sorted(path.glob(f"*{METADATA_SUFFIX}"))
        metas = [m for m in metas if m.with_suffix(".onnx").exists()]
        if not metas:
            raise WeightsError(f"{path}: no <name>.onnx with <name>.json metadata in this folder")
        meta_path = metas[0]
        return WeightSet(meta_path.with_suffix(".onnx"), WeightsMeta.from_file(meta_path))
    if not path.exists():
        raise WeightsError(f"{path}: no such weight file")
    meta_path = path.with_suffix(METADATA_SUFFIX)
    if not meta_path.exists():
        raise WeightsError(f"{path}: metadata {meta_path.name} missing beside it")
    return WeightSet(path, WeightsMeta.from_file(meta_path))


def with_changes(meta: WeightsMeta, **changes: Any) -> WeightsMeta:
    """A validated copy of ``meta`` with ``changes`` applied."""
    known = {f.name for f in fields(WeightsMeta)}
    unknown = set(changes) - known
    if unknown:
        raise WeightsError(f"unknown weights metadata field(s) {', '.join(sorted(unknown))}")
    new = replace(meta, **changes)
    validate(new.to_dict(), new.name)
    return new
