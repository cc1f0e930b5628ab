"""Keras -> ONNX export with a parity check (train extra).

Keras 3's own ``model.export(format="onnx")`` is used: ``tf2onnx.convert.from_keras`` fails
on Keras 3 models (KeyError 'keras_tensor_N'). The exported file is only moved into place
after onnxruntime reproduced Keras' outputs on random inputs within ``atol``; a file that
fails the check is never written.

:func:`export` (``zoo.export``, ``zoo export``) does this for a saved ``.keras`` file and
carries its run folder's metadata along; with ``quantize="int8"`` it writes a static int8
copy instead (:func:`zoo.int8.quantize`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ExportError, ZooError

DEFAULT_ATOL = 1e-4


def random_inputs(model: Any, n: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Uniform [0, 1) inputs matching every model input (batch axis ``n``)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = [n] + [d if d is not None else 8 for d in tensor.shape[1:]]
        arrays.append(rng.random(shape, dtype=np.float32))
    return arrays


def _rename_outputs_and_tag(path: Path, output_names: list[str], metadata: Mapping[str, str]) -> None:
    """Give graph outputs the Keras output names and store ``metadata`` in the model."""
    import onnx

    proto = onnx.load(str(path))
    renames = {}
    for out, new in zip(proto.graph.output, output_names, strict=False):
        renames[out.name] = new
        out.name = new
    for node in proto.graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(path))


def keras_outputs(model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def max_abs_diff(model: Any, onnx_path: str | Path, n: int = 8, seed: int = 0) -> float:
    """Largest |Keras - onnxruntime| over every output on random inputs."""
    import onnxruntime as ort

    inputs = random_inputs(model, n, seed)
    expected = keras_outputs(model, inputs)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(session.get_inputs(), inputs, strict=True)}
    actual = session.run(None, feed)
    return max(float(np.max(np.abs(np.asarray(e) - a))) for e, a in zip(expected, actual, strict=True))


def export_onnx(model: Any, path: str | Path, metadata: Mapping[str, Any] | None = None,
                atol: float = DEFAULT_ATOL, check_samples: int = 8) -> float:
    """Export ``model`` to ``path`` atomically after the parity check; returns the max error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".onnx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        keras_outputs(model, random_inputs(model, 1))  # Keras only exports called models
        try:
            model.export(str(tmp), format="onnx", verbose=False)
        except Exception as exc:
            raise ExportError(f"{path}: Keras could not export the model to ONNX ({exc})") from None
        output_names = [str(name) for name in getattr(model, "output_names", [])]
        meta = {k: str(v) for k, v in (metadata or {}).items()}
        _rename_outputs_and_tag(tmp, output_names, meta)
        error = max_abs_diff(model, tmp, check_samples)
        if not error <= atol:
            raise ExportError(
                f"{path}: not written: onnxruntime differs from Keras by {error:.3g} > {atol:g}"
            )
        os.replace(tmp, path)
        return error
    finally:
        tmp.unlink(missing_ok=True)


def export(model: str | Path, output: str | Path, *, atol: float = DEFAULT_ATOL,
           force: bool = False, quantize: str | None = None, calibration: int = 300,
           data: str | None = None, fmt: str = "qoperator", max_drop: float = 0.5,
           command: str = "") -> dict[str, Any]:
    """Export a saved Keras model (``.keras``) to ONNX at ``output``.

    The run's ``model.json`` beside ``model`` is re-stamped for ``output`` (name, file,
    sha256) and written beside it, so the file predicts like shipped weights. With
    ``quantize="int8"``, ``model`` may also be an ``.onnx`` weight file with its ``.json``;
    the int8 copy is checked on held-out data (see :func:`zoo.int8.quantize`). Returns what
    was written: ``output``, ``metadata`` (or None) and ``max_abs_diff`` / the int8 report.
    """
    model, output = Path(model), Path(output)
    if not model.is_file():
        raise ZooError(f"{model}: no such file")
    if output.exists() and not force:
        raise ZooError(f"{output}: exists; pass --force to replace it")
    if quantize is None:
        error = export_keras_file(model, output, atol)
        meta = metadata_beside(model, output)
        return {"output": str(output), "max_abs_diff": error,
                "metadata": None if meta is None else str(meta)}
    if quantize != "int8":
        raise ZooError(f"--quantize: {quantize!r} is not supported; valid: int8")
    from zoo.int8 import quantize as quantize_int8_weights
    from zoo.weights import WeightsMeta

    with tempfile.TemporaryDirectory(prefix="zoo-export-") as tmp:
        source = model
        if model.suffix == ".keras":
            run_meta = model.with_name("model.json")
            name = WeightsMeta.from_file(run_meta).name if run_meta.exists() else model.stem
            source = Path(tmp) / f"{name}.onnx"  # the int8 metadata names what it came from
            export_keras_file(model, source, atol)
            metadata_beside(model, source)
        report = quantize_int8_weights(source, output, calibration=calibration, data=data,
                                       fmt=fmt, max_drop=max_drop, command=command)
    return {**report, "metadata": str(output.with_suffix(".json"))}


def export_keras_file(model_path: Path, output: Path, atol: float = DEFAULT_ATOL) -> float:
    """The parity-checked export of a ``.keras`` file, with the run's metadata as model
    props; returns the largest |Keras - onnxruntime|."""
    from zoo.training import require_keras

    keras = require_keras()
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises many types for unreadable files
        raise ExportError(f"{model_path}: not a loadable Keras model "
                          f"({type(exc).__name__}: {exc})") from None
    meta_file = model_path.with_name("model.json")
    metadata = {"source": model_path.name}
    if meta_file.exists():
        from zoo.weights import WeightsMeta

        meta = WeightsMeta.from_file(meta_file)
        metadata.update(task=meta.task, arch=meta.arch, classes=",".join(meta.classes),
                        preprocessing=meta.preprocessing)
    return export_onnx(model, output, metadata, atol=atol)


def metadata_beside(model_path: Path, output: Path) -> Path | None:
    """The run's ``model.json`` re-stamped for ``output`` (name, file, sha256) and written
    beside it, so `zoo predict -w output.onnx` can use the file; None without a model.json."""
    meta_file = model_path.with_name("model.json")
    if not meta_file.exists():
        return None
    from zoo.weights import WeightsMeta, sha256_file, with_changes

    target = output.with_suffix(".json")
    meta = WeightsMeta.from_file(meta_file)
    with_changes(meta, name=output.stem, file=output.name, sha256=sha256_file(output)).save(target)
    return target
