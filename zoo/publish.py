"""Turning a run folder into a shipped weight set, and installing weight sets into a folder.

Shipping copies ``model.onnx`` to ``<dest>/<task>/<name>.onnx`` (``<name>.v<N>.onnx`` once
an older version of that name ships there), the Keras weights inside ``model.keras`` to
``.weights.h5`` beside it (for fine-tuning), and writes the validated metadata with the new
name, version, file and sha256, so the loader's integrity check holds.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

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
