"""Fuzz: weights that do not fit the task, through ``zoo predict --weights`` (issue 13, item 8).

The weights' own metadata is the authority (zoo.weights): weights of another task, graphs whose
outputs disagree with the metadata, outputs that are not the probabilities they claim, broken
metadata and corrupt files are each refused in one line, never used, never a traceback. NaN
outputs never reach the output as invalid JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import cli
from test_fuzz_inputs import digit_png

from zoo.weights import sha256_file, shipped_dir

onnx = pytest.importorskip("onnx")


def tiny_model(path: Path, width: int, softmax: bool = True, add: float = 0.0) -> Path:
    """image (N, 8, 8, 1) -> flatten -> x W (+ add) [-> softmax] -> probabilities (N, width)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 3, (64, width)).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.full(width, add, np.float32), "B")
    nodes = [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "W"], ["logits0"]),
             helper.make_node("Add", ["logits0", "B"], ["logits"])]
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1) if softmax
                 else helper.make_node("Identity", ["logits"], ["probabilities"]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 8, 8, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", width])],
        initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def weights_beside(folder: Path, onnx_path: Path, **changes) -> Path:
    """digits-cnn's metadata, re-pointed at ``onnx_path`` (its sha256), with ``changes``."""
    meta = json.loads((shipped_dir("digits") / "digits-cnn.json").read_text())
    meta.update({"name": onnx_path.stem, "sha256": sha256_file(onnx_path), **changes})
    onnx_path.with_suffix(".json").write_text(json.dumps(meta))
    return onnx_path


def _model(folder: Path, stem: str, **kwargs) -> Path:
    return tiny_model(folder / f"{stem}.onnx", **kwargs)


CASES = {
    "other-task-weights": lambda f: shipped_dir("glitch-chirp") / "glitch-chirp.onnx",
    "5-outputs-for-10-classes": lambda f: weights_beside(f, _model(f, "five", width=5)),
    "20-outputs-for-10-classes": lambda f: weights_beside(f, _model(f, "twenty", width=20)),
    "not-probabilities": lambda f: weights_beside(f, _model(f, "raw", width=10, softmax=False)),
    "metadata-is-a-list": lambda f: _meta_text(f, "[1, 2, 3]"),
    "metadata-is-a-number": lambda f: _meta_text(f, "42"),
    "metadata-truncated-json": lambda f: _meta_text(f, '{"task": "digits", "na'),
    "metadata-sha256-null": lambda f: weights_beside(f, _model(f, "nosha", width=10), sha256=None),
    "metadata-missing": lambda f: _model(f, "alone", width=10),
    "sha256-mismatch": lambda f: _tampered(f),
    "onnx-not-a-model": lambda f: _not_onnx(f),
    "weights-file-missing": lambda f: f / "absent.onnx",
}


def _meta_text(folder: Path, text: str) -> Path:
    path = _model(folder, "badmeta", width=10)
    path.with_suffix(".json").write_text(text)
    return path


def _tampered(folder: Path) -> Path:
    path = weights_beside(folder, _model(folder, "tampered", width=10))
    path.write_bytes(path.read_bytes() + b"\0")
    return path


def _not_onnx(folder: Path) -> Path:
    path = folder / "garbage.onnx"
    path.write_bytes(b"not a protobuf at all")
    return weights_beside(folder, path)


@pytest.fixture(scope="module")
def digit(tmp_path_factory) -> Path:
    return digit_png(tmp_path_factory.mktemp("digit"), "seven")


@pytest.mark.parametrize("case", list(CASES))
def test_weights_that_do_not_fit_are_refused_in_one_line(tmp_path, digit, case):
    weights = CASES[case](tmp_path)
    run = cli("predict", "digits", digit, "--weights", weights, "-f", "json")
    assert run.returncode == 1, (case, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, (case, run.stderr)
    assert '"label"' not in run.stdout  # nothing was labelled with weights that do not fit


def test_nan_outputs_never_make_invalid_json(tmp_path, digit):
    weights = weights_beside(tmp_path, _model(tmp_path, "nan", width=10, add=float("nan")))
    out = tmp_path / "out.json"
    run = cli("predict", "digits", digit, "--weights", weights, "-f", "json", "-o", out)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    text = out.read_text() if out.exists() else run.stdout
    assert "NaN" not in text.replace("NaN or inf", "")
    if text.strip():
        json.loads(text)
