"""Turning a run folder into a shipped weight set, and publishing it with huggingface_hub.

Shipping copies ``model.onnx`` to ``<dest>/<task>/<name>.onnx`` (``<name>.v<N>.onnx`` once
an older version of that name ships there), the Keras weights inside ``model.keras`` to
``.weights.h5`` beside it (for fine-tuning), and writes the validated metadata with the new
name, version, file and sha256, so the loader's integrity check holds.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from zoo.errors import WeightsError
from zoo.io.files import atomic_write_text
from zoo.weights import (
    KERAS_WEIGHTS_SUFFIX,
    WeightsMeta,
    read_folder,
    sha256_file,
    shipped_dir,
    with_changes,
)

#: where Keras 3 keeps the weights inside a ``.keras`` archive
KERAS_ARCHIVE_WEIGHTS = "model.weights.h5"


def ship(run_dir: str | Path, name: str, dest: str | Path | None = None, card: str | None = None,
         force: bool = False) -> Path:
    """Copy a run's ONNX, Keras weights and metadata (and model card text) into
    ``dest/<task>/`` (default: the user weights folder, :mod:`zoo.home`); returns the .onnx."""
    run_dir = Path(run_dir)
    meta = WeightsMeta.from_file(run_dir / "model.json")
    source = run_dir / meta.file if meta.file else run_dir / "model.onnx"
    if sha256_file(source) != meta.sha256:
        raise WeightsError(f"{source}: does not match the sha256 in {run_dir / 'model.json'}")
    keras_file = run_dir / "model.keras"
    with tempfile.TemporaryDirectory(prefix="zoo-ship-") as tmp:
        keras_weights = None
        if keras_file.is_file():
            keras_weights = Path(tmp) / f"model{KERAS_WEIGHTS_SUFFIX}"
            _extract_keras_weights(keras_file, keras_weights)
        return install(source, meta, name, dest=dest, force=force, keras_weights=keras_weights,
                       card=card)


def install(onnx: Path, meta: WeightsMeta, name: str, *, dest: str | Path | None = None,
            force: bool = False, keras_weights: Path | None = None, card: str | None = None) -> Path:
    """Write one weight set into ``dest/<task>/`` (default: the user weights folder).

    A name that already holds other bytes there, or a shipped name taken by a user weight
    set, is refused unless ``force``; forced, the new bytes become the next version of that
    name. The same bytes again are left as they are. Returns the installed .onnx.
    """
    from zoo import home

    folder = Path(dest if dest is not None else home.weights_root()) / meta.task
    sha = sha256_file(onnx)
    existing = [s for s in read_folder(folder) if s.meta.name == name] if folder.is_dir() else []
    same = [s for s in existing if s.meta.sha256 == sha]
    if same:
        return same[0].onnx
    version = max([meta.version] + [s.meta.version + 1 for s in existing])
    if existing and not force:
        newest = max(existing, key=lambda s: s.meta.version)
        raise WeightsError(f"{newest.onnx}: weights {newest.tag} already exist with other bytes; "
                           f"pass --force to install these as {name}.v{version}")
    shipped = {s.meta.name for s in read_folder(shipped_dir(meta.task))} \
        if shipped_dir(meta.task).is_dir() else set()
    if name in shipped and not force and folder.resolve() != shipped_dir(meta.task).resolve():
        raise WeightsError(f"{name}: a shipped weight set of {meta.task} has this name and the "
                           "user's would shadow it; pass --force to shadow it or pick another name")
    folder.mkdir(parents=True, exist_ok=True)
    stem = name if not existing else f"{name}.v{version}"
    target = folder / f"{stem}.onnx"
    # The .onnx first: weights are listed by their .json, which must never lack its model.
    _copy(onnx, target)
    if keras_weights is not None:
        _copy(keras_weights, folder / f"{stem}{KERAS_WEIGHTS_SUFFIX}")
    if card:
        atomic_write_text(folder / f"{stem}.md", card)
    with_changes(meta, name=name, version=version, file=target.name,
                 sha256=sha256_file(target)).save(folder / f"{stem}.json")
    return target


def _copy(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)


def _extract_keras_weights(keras_file: Path, target: Path) -> None:
    """The model's own weights inside a Keras 3 archive, written to ``target`` as a
    ``.weights.h5`` that ``model.load_weights`` reads. The archive also holds the optimizer's
    state (twice the model's size again for Adam); fine-tuning starts a fresh optimizer, so
    that group is left behind."""
    import h5py

    tmp = target.with_name(target.name + ".tmp")
    try:
        with zipfile.ZipFile(keras_file) as archive:
            blob = io.BytesIO(archive.read(KERAS_ARCHIVE_WEIGHTS))
        with h5py.File(blob, "r") as src, h5py.File(tmp, "w") as dst:
            for key in src:
                if key != "optimizer":
                    src.copy(src[key], dst, name=key)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        tmp.unlink(missing_ok=True)
        raise WeightsError(f"{keras_file}: cannot take the Keras weights out of it ({exc})") from None
    tmp.replace(target)


def push_to_hub(weights_onnx: str | Path, repo_id: str) -> str:
    """Upload a weight set in one commit to a Hub model repository: the ONNX file, its
    metadata, the Keras weights fine-tuning needs and a model card ``README.md`` with the
    Hub's YAML metadata. The local metadata then records the commit (``hub``). Returns the
    commit's URL."""
    from zoo.hub import CARD_FILE, _hub

    hub = _hub()
    from huggingface_hub.errors import HfHubHTTPError

    path = Path(weights_onnx)
    meta = WeightsMeta.from_file(path.with_suffix(".json"))
    files = [p for p in upload_files(path) if p.is_file()]
    operations = [hub.CommitOperationAdd(path_in_repo=f.name, path_or_fileobj=str(f)) for f in files]
    operations.append(hub.CommitOperationAdd(path_in_repo=CARD_FILE,
                                             path_or_fileobj=model_card(meta, repo_id).encode()))
    api = hub.HfApi()
    try:
        api.create_repo(repo_id, exist_ok=True)
        info = api.create_commit(repo_id, operations,
                                 commit_message=f"zoo ship {meta.name}.v{meta.version}")
    except (HfHubHTTPError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{repo_id}: upload failed ({reason[:160]})") from None
    # The local copy now says where it was published, pinned to the commit just made.
    with_changes(meta, hub={"repo": repo_id, "revision": "main", "commit": info.oid,
                            "uri": f"hf://{repo_id}@{info.oid}/{meta.name}"}
                 ).save(path.with_suffix(".json"))
    return str(info.commit_url)


def upload_files(weights_onnx: Path) -> list[Path]:
    """The files of a weight set that go to the Hub: ONNX, metadata, Keras weights."""
    stem = weights_onnx.name[: -len(".onnx")]
    return [weights_onnx, weights_onnx.with_suffix(".json"),
            weights_onnx.with_name(stem + KERAS_WEIGHTS_SUFFIX)]


def model_card(meta: WeightsMeta, repo_id: str = "ORG/REPO") -> str:
    """A Hub model card: YAML metadata (license, library, tags, datasets, model-index with
    the held-out metrics) and a body that says how the weights were made and how to use them."""
    from zoo.hub import _hub
    from zoo.registry import get_task

    hub = _hub()

    task = get_task(meta.task)
    simulated = bool(meta.trained_on_simulation or meta.data_source.get("simulated"))
    source = meta.data_source.get("type", "unknown")
    dataset = "simulated" if simulated else str(source)
    scores = {k: v for k, v in meta.metrics.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n"}
    pipeline = {"classification": "image-classification", "binary": "image-classification",
                "regression": "tabular-regression" if meta.task == "boston-housing" else
                "image-feature-extraction"}.get(task.kind)
    results = [hub.EvalResult(task_type=pipeline or task.kind, dataset_type=dataset,
                              dataset_name=f"{meta.task} held-out test split ({dataset})",
                              dataset_split="test", metric_type=key, metric_value=float(value))
               for key, value in scores.items()]
    tags = ["zoo", "physzoo", "onnx", meta.task, meta.arch] + (["simulated"] if simulated else [])
    data = hub.ModelCardData(license="mit", library_name="physzoo", tags=tags,
                             datasets=None if simulated else [dataset],
                             pipeline_tag=pipeline, model_name=meta.name,
                             eval_results=results or None)
    lines = [f"# {meta.name} (v{meta.version})", "",
             f"`{meta.arch}` weights for the zoo task **{meta.task}** ({task.description}), "
             f"{meta.num_params:,} parameters, exported to ONNX for onnxruntime.", "",
             "```bash", "pip install 'physzoo[hub]'",
             f"zoo predict {meta.task} INPUT --weights hf://{repo_id}/{meta.name}", "```", "",
             "## Held-out metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4g} |" for k, v in scores.items()]
    lines += ["", "## How they were made", "",
              f"- data: {'SIMULATED: ' if simulated else ''}`{_json_line(meta.data_source)}`",
              f"- command: `{meta.command}`", f"- sha256 of {meta.file or meta.name + '.onnx'}: "
              f"`{meta.sha256}`", f"- zoo version: {meta.zoo_version or 'unknown'}"]
    if meta.notes:
        lines += ["", meta.notes]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in value.items() if k != "path"}, default=str)
