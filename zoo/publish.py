"""Turning a run folder into a shipped weight set, and publishing it with huggingface_hub.

Shipping copies ``model.onnx`` to ``<dest>/<task>/<name>.onnx`` and rewrites the metadata
with the new name, file and (re-computed) sha256, so the loader's integrity check holds.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from zoo.errors import WeightsError
from zoo.weights import WeightsMeta, sha256_file


def ship(run_dir: str | Path, name: str, dest: str | Path = "weights", card: str | None = None) -> Path:
    """Copy a run's ONNX + metadata (and model card text) into ``dest/<task>/``; returns the .onnx."""
    run_dir = Path(run_dir)
    meta = WeightsMeta.from_file(run_dir / "model.json")
    source = run_dir / meta.file if meta.file else run_dir / "model.onnx"
    if sha256_file(source) != meta.sha256:
        raise WeightsError(f"{source}: does not match the sha256 in {run_dir / 'model.json'}")
    folder = Path(dest) / meta.task
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.onnx"
    tmp = target.with_suffix(".onnx.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    replace(meta, name=name, file=target.name, sha256=sha256_file(target)).save(
        folder / f"{name}.json")
    if card:
        (folder / f"{name}.md").write_text(card)
    return target


def push_to_hub(weights_onnx: str | Path, repo_id: str) -> str:
    """Upload a shipped weight set (ONNX + JSON) to a Hugging Face Hub model repository."""
    try:
        from huggingface_hub import HfApi
    except ImportError:
        from zoo.errors import MissingExtraError

        raise MissingExtraError("publishing to the Hugging Face Hub", "hub") from None
    path = Path(weights_onnx)
    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    for file in (path, path.with_suffix(".json")):
        api.upload_file(path_or_fileobj=str(file), path_in_repo=file.name, repo_id=repo_id)
    return f"{repo_id}/{path.name}"
