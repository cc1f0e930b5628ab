"""Keras -> ONNX export: parity within 1e-4, metadata, refusal to write a mismatch."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")


import zoo  # noqa: E402
from zoo.errors import ExportError  # noqa: E402
from zoo.onnx_export import export_onnx, random_inputs  # noqa: E402


@pytest.mark.parametrize("arch", ["cnn", "dense"])
def test_every_digits_architecture_exports_with_parity(tmp_path, arch):
    model = zoo.create_model("digits", arch)
    path = tmp_path / f"{arch}.onnx"
    error = export_onnx(model, path, {"task": "digits", "arch": arch})
    assert error <= 1e-4
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props == {"task": "digits", "arch": arch}
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert not batch_dim.HasField("dim_value")  # dynamic batch axis


def test_onnx_output_equals_keras_output(tmp_path):
    import onnxruntime as ort

    model = zoo.create_model("digits", "cnn")
    export_onnx(model, tmp_path / "m.onnx")
    (x,) = random_inputs(model, n=16, seed=3)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    np.testing.assert_allclose(session.run(None, {"image": x})[0], model(x).numpy(), atol=1e-4)


def test_a_failing_parity_check_writes_nothing(tmp_path, monkeypatch):
    model = zoo.create_model("digits", "dense")
    path = tmp_path / "out.onnx"
    monkeypatch.setattr("zoo.onnx_export.max_abs_diff", lambda *a, **k: 0.5)
    with pytest.raises(ExportError, match="not written"):
        export_onnx(model, path)
    assert list(tmp_path.iterdir()) == []
