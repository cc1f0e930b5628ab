"""Keras -> ONNX export with a parity check (train extra).

Keras 3's own ``model.export(format="onnx")`` is used: ``tf2onnx.convert.from_keras`` fails
on Keras 3 models (KeyError 'keras_tensor_N'). The exported file is only moved into place
after onnxruntime reproduced Keras' outputs on random inputs within ``atol``; a file that
fails the check is never written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ExportError

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
