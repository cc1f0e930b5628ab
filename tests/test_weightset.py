"""The WeightSet the runtime trusts: versioned names, a validated metadata schema, and weights
that do not fit the task (other task, widths, not probabilities, NaN) refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from core_helpers import write_digit_pngs
from typer.testing import CliRunner

import zoo
from zoo.cli.app import app
from zoo.errors import DuplicateNameError, UnknownNameError, WeightsError
from zoo.registry import register_model, register_task
from zoo.task import InputSpec, Task
from zoo.weights import list_weights, parse_tag, read_folder, resolve, sha256_file

runner = CliRunner()


def digits_meta() -> dict:
    return json.loads(resolve("digits", "digits-cnn").meta.to_json())


def write_weights(folder: Path, onnx_bytes: bytes, **changes) -> Path:
    """``folder/model.onnx`` + ``model.json``: digits-cnn's metadata with ``changes``."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / "model.onnx"
    onnx.write_bytes(onnx_bytes)
    meta = {**digits_meta(), "file": "model.onnx", "sha256": sha256_file(onnx), **changes}
    (folder / "model.json").write_text(json.dumps(meta))
    return onnx


def tiny_digits_onnx(width: int, head: str = "softmax") -> bytes:
    """A linear 8x8 -> ``width`` graph named like the shipped ones; ``head`` is softmax,
    ``linear`` (raw scores, not probabilities) or ``nan`` (every output NaN)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array([-1, 64], np.int64), "shape"),
             numpy_helper.from_array(rng.normal(0, 3, (64, width)).astype(np.float32), "w")]
    nodes = [helper.make_node("Reshape", ["image", "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["scores"])]
    if head == "softmax":
        nodes.append(helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1))
    elif head == "nan":
        inits.append(numpy_helper.from_array(np.array([np.nan], np.float32), "nan"))
        nodes.append(helper.make_node("Mul", ["scores", "nan"], ["probabilities"]))
    else:
        nodes.append(helper.make_node("Identity", ["scores"], ["probabilities"]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 8, 8, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def one_line_error(result) -> str:
    """The CLI's error output, asserted to be exactly one line and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# ---- names and versions -----------------------------------------------------------------
def test_names_carry_versions_and_a_bare_name_is_the_newest():
    newest = max((w for w in list_weights("glitch") if w.meta.name == "glitch-multiview"),
                 key=lambda w: w.meta.version)
    assert resolve("glitch", "glitch-multiview").tag == newest.tag
    assert resolve("glitch", newest.tag).meta.arch == "multiview-ensemble"
    assert resolve("digits").tag == "digits-cnn.v1"  # the task's default alias
    with pytest.raises(UnknownNameError, match=newest.tag.replace(".", r"\.")):
        resolve("glitch", "glitch-multiview.v99")
    assert "digits-cnn.v1" in repr(resolve("digits", "digits-cnn"))


def test_every_shipped_weight_set_fits_the_schema_and_its_task():
    shipped = list_weights()
    assert {s.meta.task for s in shipped} >= {"digits", "glitch", "glitch-chirp", "jet-quench",
                                             "cluster-mass"}
    for found in shipped:
        task = zoo.get_task(found.meta.task)
        found.check_task(task.name, task.preprocessing)
        assert found.meta.outputs and found.meta.zoo_version and len(found.meta.sha256) == 64
    assert [s.tag for s in list_weights("digits", "*dense*")] == ["digits-dense.v1"]


def test_versions_of_one_name_sort_and_the_newest_wins(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    for stem, version, source in (("mine", 1, "digits-cnn"), ("mine.v2", 2, "digits-dense")):
        onnx = resolve("digits", source).onnx
        shutil.copy(onnx, folder / f"{stem}.onnx")
        meta = {**digits_meta(), "name": "mine", "version": version, "sha256": sha256_file(onnx)}
        (folder / f"{stem}.json").write_text(json.dumps(meta))
    assert [s.tag for s in read_folder(folder)] == ["mine.v1", "mine.v2"]
    assert parse_tag("mine.v2") == ("mine", 2) and parse_tag("mine") == ("mine", None)


def test_the_same_version_shipped_twice_is_an_error(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    for stem in ("a", "b"):
        shutil.copy(resolve("digits", "digits-cnn").onnx, folder / f"{stem}.onnx")
        (folder / f"{stem}.json").write_text(json.dumps(digits_meta()))
    with pytest.raises(DuplicateNameError, match="digits-cnn.v1 shipped twice"):
        read_folder(folder)


def test_duplicate_task_and_architecture_registrations_are_errors():
    class Twin(Task):
        name = "digits"
        inputs = (InputSpec("image", (8, 8, 1)),)

    with pytest.raises(DuplicateNameError, match="task 'digits' is already registered"):
        register_task(Twin)
    with pytest.raises(DuplicateNameError, match="digits/cnn is already registered"):
        register_model("digits", "cnn")(lambda task: None)


# ---- metadata that is not metadata ------------------------------------------------------------
@pytest.mark.parametrize("content, problem", [
    ("[1, 2]", "expected a JSON object, got a list"),
    ("3.5", "expected a JSON object, got a number"),
    ('{"task": "digits"}', "missing fields arch, name"),
    ("{not json", "unreadable weights metadata"),
])
def test_metadata_that_is_not_an_object_is_refused_in_one_line(tmp_path, content, problem):
    onnx = write_weights(tmp_path, resolve("digits", "digits-cnn").onnx.read_bytes())
    (tmp_path / "model.json").write_text(content)
    with pytest.raises(WeightsError, match=problem):
        resolve("digits", onnx)


@pytest.mark.parametrize("changes, problem", [
    ({"sha256": None}, "'sha256' must be a string, got null"),
    ({"sha256": "abc"}, "sha256 must be 64 lowercase hex digits"),
    ({"classes": "0123456789"}, "'classes' must be a list, got a string"),
    ({"outputs": [{"name": "p", "kind": "softmax", "width": 5}]}, "width 5 but 10 classes"),
    ({"outputs": [{"name": "p", "kind": "logits", "width": 10}]}, "kind 'logits'"),
    ({"version": 0}, "version must be 1 or more"),
    ({"name": "digits-cnn.v3"}, "without a .vN tag"),
    ({"thresold": {}}, "unknown field 'thresold'"),
])
def test_broken_metadata_fields_are_refused_in_one_line(tmp_path, changes, problem):
    onnx = write_weights(tmp_path, resolve("digits", "digits-cnn").onnx.read_bytes(), **changes)
    with pytest.raises(WeightsError, match=problem) as err:
        resolve("digits", onnx)
    assert "\n" not in str(err.value) and str(tmp_path) in str(err.value)


# ---- weights that do not fit ----------------------------------------------------------------
def test_weights_of_another_task_are_refused(tmp_path):
    chirp = resolve("glitch-chirp", "glitch-chirp").onnx
    with pytest.raises(WeightsError, match="for task 'glitch-chirp', not 'glitch'"):
        zoo.load("glitch", weights=chirp)
    png = write_digit_pngs(tmp_path, 1)[0][0]
    line = one_line_error(runner.invoke(app, ["predict", "glitch", str(png), "-w", str(chirp)]))
    assert "glitch-chirp" in line


def test_weights_of_another_preprocessing_are_refused(tmp_path):
    onnx = write_weights(tmp_path, resolve("digits", "digits-cnn").onnx.read_bytes(),
                         preprocessing="digits-gray8x8-v0")
    with pytest.raises(WeightsError, match="expect preprocessing 'digits-gray8x8-v0'"):
        zoo.load("digits", weights=onnx)


def test_labels_come_from_the_weights_classes(tmp_path):
    letters = list("abcdefghij")
    onnx = write_weights(tmp_path, resolve("digits", "digits-cnn").onnx.read_bytes(), classes=letters)
    files = write_digit_pngs(tmp_path / "png", 8)
    preds = zoo.load("digits", weights=onnx).predict([str(p) for p, _ in files])
    assert [p.result["label"] for p in preds] == [letters[y] for _, y in files]


@pytest.mark.parametrize("width", [5, 20])
def test_graph_output_width_must_match_the_metadata(tmp_path, width):
    onnx = write_weights(tmp_path, tiny_digits_onnx(width))
    with pytest.raises(WeightsError, match=f"has width {width}, the metadata declares 10"):
        zoo.load("digits", weights=onnx)


def test_outputs_that_are_not_probabilities_are_refused(tmp_path):
    onnx = write_weights(tmp_path / "w", tiny_digits_onnx(10, "linear"))
    png = [str(p) for p, _ in write_digit_pngs(tmp_path / "png", 3)]
    line = one_line_error(runner.invoke(app, ["predict", "digits", *png, "-w", str(onnx)]))
    assert "declared softmax probabilities" in line or "not probabilities" in line


def test_nan_outputs_are_errors_never_results(tmp_path):
    onnx = write_weights(tmp_path / "w", tiny_digits_onnx(10, "nan"))
    png = [str(p) for p, _ in write_digit_pngs(tmp_path / "png", 3)]
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["predict", "digits", *png, "-w", str(onnx), "-f", "json",
                                 "-o", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("non-finite output") == 3
    if out.exists():  # whatever was written is valid JSON without a NaN result
        assert "NaN" not in out.read_text()
        assert all("label" not in row for row in json.loads(out.read_text()))
