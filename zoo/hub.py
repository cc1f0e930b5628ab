"""Weight sets on the Hugging Face Hub: ``hf://ORG/REPO[@REVISION][/NAME]`` and ``zoo pull``.

A zoo model repository holds weight sets in the zoo's own layout, at its top level:
``<name>.onnx`` + ``<name>.json`` (+ ``<name>.weights.h5`` for fine-tuning) and a
``README.md`` model card (``push_to_hub`` writes them). Everything goes through
huggingface_hub's own cache (``$HF_HOME/hub``), so a revision downloaded once loads again
with ``HF_HUB_OFFLINE=1`` or with no network at all; what is not cached is said in one line.

After every download the ONNX file is checked against the sha256 in its metadata, and the
metadata handed on records where it came from (``hub``: repo, requested revision, resolved
commit), so a result can always be traced to one commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zoo.errors import MissingExtraError, WeightsError
from zoo.weights import (
    KERAS_WEIGHTS_SUFFIX,
    METADATA_SUFFIX,
    WeightSet,
    WeightsMeta,
    read_folder,
    sha256_file,
    with_changes,
)

SCHEME = "hf://"
#: the files that ``--weights hf://...`` needs to predict; ``zoo pull`` takes everything
INFERENCE_SUFFIXES = (".onnx", METADATA_SUFFIX)
INFERENCE_FILES = tuple(f"*{suffix}" for suffix in INFERENCE_SUFFIXES)
CARD_FILE = "README.md"


@dataclass(frozen=True)
class HubRef:
    """A parsed ``[hf://]ORG/REPO[@REVISION][/NAME]``."""

    repo_id: str
    revision: str | None = None
    name: str | None = None

    @property
    def uri(self) -> str:
        return SCHEME + self.repo_id + (f"@{self.revision}" if self.revision else "") + (
            f"/{self.name}" if self.name else "")


def is_hub_uri(text: str) -> bool:
    return str(text).startswith(SCHEME)


def parse(text: str) -> HubRef:
    """``hf://ORG/REPO@REV/NAME`` (the scheme is optional) -> :class:`HubRef`."""
    body = text[len(SCHEME):] if is_hub_uri(text) else text
    parts = body.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise WeightsError(f"{text}: not a Hub reference; expected [hf://]ORG/REPO[@REVISION][/NAME]")
    repo, _, revision = parts[1].partition("@")
    if not repo or (_ and not revision):
        raise WeightsError(f"{text}: empty repository or revision; expected ORG/REPO[@REVISION]")
    return HubRef(f"{parts[0]}/{repo}", revision or None, parts[2] if len(parts) == 3 else None)


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise MissingExtraError("loading weights from the Hugging Face Hub", "hub") from None
    return huggingface_hub


def download(ref: HubRef, patterns: tuple[str, ...] | None = INFERENCE_FILES) -> Path:
    """The repository snapshot at ``ref.revision`` in huggingface_hub's cache (downloading
    what is missing unless offline); its folder name is the resolved commit."""
    hub = _hub()
    from huggingface_hub import errors

    try:
        folder = hub.snapshot_download(ref.repo_id, revision=ref.revision,
                                       allow_patterns=list(patterns) if patterns else None)
    except errors.RevisionNotFoundError:
        raise WeightsError(f"{ref.uri}: the Hub repository has no revision "
                           f"{ref.revision!r}") from None
    except errors.RepositoryNotFoundError:
        raise WeightsError(f"{ref.uri}: no such Hub repository (or it is private: set HF_TOKEN)"
                           ) from None
    except errors.LocalEntryNotFoundError:
        raise WeightsError(not_cached_message(ref)) from None
    except (errors.HfHubHTTPError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{ref.uri}: download failed ({reason[:160]})") from None
    return Path(folder)


def not_cached_message(ref: HubRef) -> str:
    from huggingface_hub import constants

    where = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub is unreachable"
    revision = f"revision {ref.revision!r}" if ref.revision else "its main branch"
    return (f"{ref.uri}: not (completely) in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            f"and {where}; {ref.repo_id} at {revision} was not downloaded here: run `zoo pull "
            f"{ref.repo_id}{'@' + ref.revision if ref.revision else ''}` where the Hub is reachable")


def weight_sets(ref: HubRef, folder: Path) -> list[WeightSet]:
    """The weight sets of a snapshot (just ``ref.name`` when given), checked and stamped with
    their Hub origin."""
    sets = read_folder(folder)
    if ref.name:
        sets = [s for s in sets if s.meta.name == ref.name or s.onnx.stem == ref.name]
    if not sets:
        what = f"weight set {ref.name!r}" if ref.name else "weight sets (<name>.onnx + <name>.json)"
        raise WeightsError(f"{ref.uri}: the repository holds no {what} at commit {folder.name}")
    commit = folder.name
    stamped = []
    for found in sets:
        uri = f"{SCHEME}{ref.repo_id}@{commit}/{found.meta.name}"
        actual = sha256_file(found.onnx)
        if actual != found.meta.sha256:
            raise WeightsError(
                f"{uri}: downloaded {found.onnx.name} has sha256 {actual[:12]}..., its metadata "
                f"says {found.meta.sha256[:12]}...: corrupt; delete {found.onnx.resolve()} and "
                "pull again")
        hub = {"repo": ref.repo_id, "revision": ref.revision or "main", "commit": commit,
               "uri": uri}
        stamped.append(WeightSet(found.onnx, replace(found.meta, hub=hub)))
    return stamped


def resolve(uri: str, task: str) -> WeightSet:
    """The weight set ``hf://ORG/REPO[@REV][/NAME]`` of ``task`` from the Hub cache."""
    ref = parse(uri)
    patterns = INFERENCE_FILES if not ref.name else tuple(
        f"{ref.name}{version}{suffix}" for version in ("", ".v*") for suffix in INFERENCE_SUFFIXES)
    sets = [s for s in weight_sets(ref, download(ref, patterns)) if s.meta.task == task]
    if not sets:
        raise WeightsError(f"{uri}: holds no weights of task {task!r}")
    if len(sets) > 1:
        names = ", ".join(s.meta.name for s in sets)
        raise WeightsError(f"{uri}: holds several weight sets of {task} ({names}); add /NAME")
    return sets[0]


def pull(text: str, force: bool = False) -> list[Path]:
    """Download ``ORG/REPO[@REV][/NAME]`` through the Hub cache and install its weight sets
    (ONNX, metadata with the resolved commit, Keras weights, model card) into the user
    weights folder; returns the installed ONNX files."""
    from zoo.publish import install

    ref = parse(text)
    folder = download(ref, patterns=None)
    card = folder / CARD_FILE
    installed = []
    for found in weight_sets(ref, folder):
        stem = found.onnx.name[: -len(".onnx")]
        keras_weights = found.onnx.with_name(stem + KERAS_WEIGHTS_SUFFIX)
        installed.append(install(found.onnx, found.meta, found.meta.name, force=force,
                                 keras_weights=keras_weights if keras_weights.is_file() else None,
                                 card=card.read_text() if card.is_file() else None))
    return installed


def push_to_hub(weights_onnx: str | Path, repo_id: str) -> str:
    """Upload a weight set in one commit to a Hub model repository: the ONNX file, its
    metadata, the Keras weights fine-tuning needs and a model card ``README.md`` with the
    Hub's YAML metadata. The local metadata then records the commit (``hub``). Returns the
    commit's URL."""
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
