"""Weight sets: an ONNX file plus a JSON metadata file beside it (torchvision-style).

The metadata records everything needed to trust and reproduce a weight file: classes,
inputs, preprocessing id, metrics on held-out data, the exact ``zoo train`` command, the
data source, parameter count and the sha256 of the ONNX file, which the loader verifies.
Shipped weights live in the ``weights/<task>/`` folder of the repository, installed as
the ``zoo.pretrained`` package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zoo.errors import UnknownNameError, WeightsError
from zoo.io.files import atomic_write_text

METADATA_SUFFIX = ".json"


@dataclass
class WeightsMeta:
    """Everything known about one trained weight file."""

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
    recipe: dict[str, Any] = field(default_factory=dict)
    trained_on_simulation: bool = False
    baseline: dict[str, Any] | None = None
    notes: str = ""
    zoo_version: str = ""
    created: str = ""
    file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False, default=_jsonable) + "\n"

    @classmethod
    def from_file(cls, path: str | Path) -> WeightsMeta:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path}: unreadable weights metadata ({exc})") from None
        known = set(cls.__dataclass_fields__)
        missing = {"task", "arch", "name", "sha256"} - set(data)
        if missing:
            raise WeightsError(f"{path}: weights metadata lacks {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json())


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class WeightsRef:
    """A resolved weight set on disk."""

    onnx: Path
    meta: WeightsMeta

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


def shipped_dir(task: str) -> Path:
    """Folder with the shipped weights of ``task`` (may not exist)."""
    return Path(str(resources.files("zoo.pretrained"))) / task


def list_weights(task: str) -> list[WeightsRef]:
    """Shipped weight sets of ``task``, sorted by name."""
    folder = shipped_dir(task)
    if not folder.is_dir():
        return []
    refs = []
    for meta_path in sorted(folder.glob(f"*{METADATA_SUFFIX}")):
        meta = WeightsMeta.from_file(meta_path)
        refs.append(WeightsRef(meta_path.with_suffix(".onnx"), meta))
    return refs


def resolve(task: str, weights: str | Path = "default", arch: str | None = None,
            default: str = "") -> WeightsRef:
    """Find a weight set: a shipped name, ``default``, an ``.onnx`` file or a run folder."""
    text = str(weights)
    path = Path(text)
    if path.suffix == ".onnx" or path.is_dir():
        return _resolve_path(path)
    shipped = list_weights(task)
    if not shipped:
        raise WeightsError(
            f"no shipped weights for task {task!r}; train some with `zoo train {task}` and pass "
            "--weights RUN_DIR"
        )
    if text == "default":
        candidates = [r for r in shipped if arch is None or r.meta.arch == arch]
        if not candidates:
            raise UnknownNameError(f"shipped weights of {task} for arch", arch or "",
                                   sorted({r.meta.arch for r in shipped}))
        named = [r for r in candidates if r.meta.name == default]
        return named[0] if named else candidates[0]
    for ref in shipped:
        if ref.meta.name == text:
            return ref
    raise UnknownNameError(f"weights of {task}", text, [r.meta.name for r in shipped])


def _resolve_path(path: Path) -> WeightsRef:
    if path.is_dir():
        metas = sorted(path.glob(f"*{METADATA_SUFFIX}"))
        metas = [m for m in metas if m.with_suffix(".onnx").exists()]
        if not metas:
            raise WeightsError(f"{path}: no <name>.onnx with <name>.json metadata in this folder")
        meta_path = metas[0]
        return WeightsRef(meta_path.with_suffix(".onnx"), WeightsMeta.from_file(meta_path))
    if not path.exists():
        raise WeightsError(f"{path}: no such weight file")
    meta_path = path.with_suffix(METADATA_SUFFIX)
    if not meta_path.exists():
        raise WeightsError(f"{path}: metadata {meta_path.name} missing beside it")
    return WeightsRef(path, WeightsMeta.from_file(meta_path))
