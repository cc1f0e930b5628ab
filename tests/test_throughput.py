"""Correctness of the throughput tooling: FLOP counts, int8 quantization, micro-batching,
the interleaved benchmark and ``zoo export --quantize int8``. No wall time is asserted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.registry import get_task
from zoo.weights import WeightSet, list_weights, sha256_file

onnx = pytest.importorskip("onnx")


def digits_ref() -> WeightSet:
    refs = [r for r in list_weights("digits") if r.meta.name == "digits-cnn"]
    if not refs:
        pytest.skip("shipped digits-cnn weights are not present")
    return refs[0]


def conv_gemm_model(path: Path) -> Path:
    """x (N,3,16,16) -> Conv 8@3x3 pad 1 -> Flatten -> Gemm 2048x10: known MAC counts."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.random((8, 3, 3, 3), dtype=np.float32), "w"),
             numpy_helper.from_array(rng.random((2048, 10), dtype=np.float32), "g")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "g"], ["y"])]
    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_flops_count_conv_and_gemm_macs_twice(tmp_path):
    from zoo.flops import count_flops

    counted = count_flops(conv_gemm_model(tmp_path / "m.onnx"))
    conv = 2 * (8 * 16 * 16) * (3 * 3 * 3)
    gemm = 2 * 2048 * 10
    assert counted["by_op"] == {"Conv": conv, "Gemm": gemm}
    assert counted["flops"] == conv + gemm and counted["unresolved_nodes"] == 0


def test_flops_of_a_keras_export_match_its_layers(tmp_path):
    keras = pytest.importorskip("keras")
    import zoo
    from zoo.flops import count_flops
    from zoo.onnx_export import export_onnx

    model = zoo.create_model("digits", "cnn")
    export_onnx(model, tmp_path / "cnn.onnx")
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            macs += int(np.prod(layer.output.shape[1:3])) * cout * kh * kw * cin
        elif isinstance(layer, keras.layers.Dense):
            macs += int(np.prod(layer.kernel.shape))
    assert count_flops(tmp_path / "cnn.onnx")["flops"] == 2 * macs


def test_int8_model_agrees_with_fp32_on_most_held_out_labels(tmp_path):
    from zoo.int8 import quantize_int8
    from zoo.throughput import calibration_inputs, int8_accuracy, onnx_runner, temporary_ref

    ref = digits_ref()
    task = get_task("digits")
    data = task.load_data_for(ref.meta)
    calib = calibration_inputs(task, data.train, 200)
    for fmt in ("qoperator", "qdq"):
        path = quantize_int8(ref.onnx, tmp_path / f"int8-{fmt}.onnx", calib, fmt)
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert "int8" in props["quantization"]
        int8 = onnx_runner(temporary_ref(path, ref.meta, "int8"), task, "cpu")
        report = int8_accuracy(task, onnx_runner(ref, task, "cpu"), int8, data.test)
        assert report["label_agreement"] >= 0.95, (fmt, report)
        assert report["loss_unit"] == "pp" and report["loss"] < 3.0, (fmt, report)


def test_image_layers_stay_float_and_the_model_asks_sessions_to_keep_them_apart(tmp_path):
    """The 1-channel first conv (+ its ReLU and pooling) stays float32; every deeper conv is
    int8; the model names the optimizer its sessions must leave out, and they do."""
    from zoo.int8 import image_layer_nodes, quantize_int8
    from zoo.predictor import DISABLED_OPTIMIZERS_KEY, _disabled_optimizers, make_session
    from zoo.throughput import calibration_inputs

    ref = digits_ref()
    data = get_task("digits").load_data_for(ref.meta)
    calib = calibration_inputs(get_task("digits"), data.train, 100)
    nodes = onnx.load(str(ref.onnx)).graph.node
    first_conv = next(n for n in nodes if n.op_type == "Conv")
    kept = image_layer_nodes(ref.onnx)
    assert kept[0] == first_conv.name and len(kept) >= 2  # the conv and what follows it

    mixed = quantize_int8(ref.onnx, tmp_path / "mixed.onnx", calib)
    model = onnx.load(str(mixed))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == 1 and "QLinearConv" in ops
    props = {p.key: p.value for p in model.metadata_props}
    assert props[DISABLED_OPTIMIZERS_KEY] == "QDQPropagationTransformer"
    session = make_session(mixed, "cpu", 1)
    assert _disabled_optimizers(session) == ["QDQPropagationTransformer"]
    # Leaving the optimizer out changes speed only: max-pool commutes with quantization.
    import onnxruntime as ort

    default = ort.InferenceSession(str(mixed), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: data.test.x["image"][:32].astype(np.float32)}
    np.testing.assert_allclose(session.run(None, feed)[0], default.run(None, feed)[0], atol=1e-6)

    all_int8 = quantize_int8(ref.onnx, tmp_path / "all.onnx", calib, float_image_layers=False)
    model = onnx.load(str(all_int8))
    assert "Conv" not in [n.op_type for n in model.graph.node]
    assert DISABLED_OPTIMIZERS_KEY not in {p.key for p in model.metadata_props}


def test_calibration_takes_only_the_model_inputs_not_the_baseline_arrays():
    from zoo.task import Split
    from zoo.throughput import calibration_inputs

    split = Split(x={"image": np.zeros((5, 33, 33, 2)), "observables": np.zeros((5, 4)),
                     "baseline_score": np.zeros(5)}, y=np.zeros(5))
    calib = calibration_inputs(get_task("jet-quench"), split, 3)
    assert list(calib) == ["image"] and len(calib["image"]) == 3


@pytest.mark.parametrize("higher_is_better, fp32, int8, loss, unit", [
    (True, 0.90, 0.88, 2.0, "pp"),     # accuracy 2 points lower: worse
    (True, 0.90, 0.91, -1.0, "pp"),    # better
    (False, 0.20, 0.21, 5.0, "%"),     # scatter 5% higher: worse, not "better by 1 pp"
    (False, 0.20, 0.19, -5.0, "%"),
])
def test_int8_loss_counts_a_rising_error_metric_as_a_loss(higher_is_better, fp32, int8, loss,
                                                          unit):
    from types import SimpleNamespace

    from zoo.task import Split
    from zoo.throughput import compare_int8, loss_text

    out32, out8 = [np.full((4, 1), 0.75)], [np.full((4, 1), 0.25)]
    task = SimpleNamespace(  # evaluate() tells the two runs apart by their outputs
        headline_metric="m", headline_higher_is_better=higher_is_better,
        kind="classification" if higher_is_better else "regression",
        evaluate=lambda split, out, _: {"m": fp32 if out is out32 else int8})
    report = compare_int8(task, Split(x={}, y=np.zeros(4)), out32, out8)
    assert report["loss"] == pytest.approx(loss) and report["loss_unit"] == unit
    assert ("label_agreement" in report) == higher_is_better  # no "labels" for a regression
    assert loss_text(report).endswith("worse" if loss > 0 else "better")


def test_quantize_refuses_without_calibration_samples(tmp_path):
    from zoo.errors import ExportError
    from zoo.int8 import quantize_int8

    with pytest.raises(ExportError, match="no calibration samples"):
        quantize_int8(digits_ref().onnx, tmp_path / "q.onnx", {"image": np.zeros((0, 8, 8, 1))})
    assert not (tmp_path / "q.onnx").exists()


def test_micro_batches_give_the_same_outputs_as_one_call():
    from zoo.predictor import Model

    ref = digits_ref()
    task = get_task("digits")
    x = {"image": np.random.default_rng(1).random((37, 8, 8, 1), dtype=np.float32)}
    whole = Model(task, ref, "cpu", micro_batch=256).run(x)[0]
    sliced = Model(task, ref, "cpu", micro_batch=5).run(x)[0]
    assert sliced.shape == whole.shape == (37, 10)
    np.testing.assert_allclose(sliced, whole, atol=1e-6)


def test_interleaved_benchmark_measures_every_runtime_and_the_peak():
    from zoo.throughput import interleaved, synthetic_batch

    task = get_task("digits")
    runners = {"a": lambda b: b["image"].sum(), "b": lambda b: b["image"] * 2}
    batches = {bs: synthetic_batch(task, bs) for bs in (1, 4)}
    result = interleaved(runners, batches, min_time=0.02, rounds=2, peak_size=128,
                         flops={"a": 1e3})
    assert {(r.runtime, r.batch_size) for r in result.rows} == {(n, b) for n in "ab" for b in (1, 4)}
    assert all(r.images_per_s > 0 and r.best_images_per_s >= r.images_per_s * 0.999
               and r.p99_ms >= r.p50_ms for r in result.rows)
    assert result.peak_gflops and set(result.peak_by_source) == {"numpy", "onnxruntime"}
    assert all((r.gflops is not None) == (r.runtime == "a") for r in result.rows)
    ratio = result.speedups("a")
    assert ratio["a", 1] == pytest.approx(1.0)


def test_measure_peak_reports_both_sources():
    from zoo.peak import measure_peak

    peak = measure_peak(size=128, repeats=2, min_time=0.01)
    assert peak.gflops == max(peak.by_source.values()) > 0


def test_bench_cli_reports_int8_accuracy_and_peak_fraction(tmp_path):
    pytest.importorskip("onnxruntime.quantization")
    from zoo.cli.app import app

    digits_ref()
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "digits", "--batch-sizes", "1,32", "--min-time",
                                      "0.05", "--rounds", "1", "--no-keras", "--json", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    runtimes = {r["runtime"] for r in record["rows"]}
    assert runtimes == {"onnxruntime fp32", "onnxruntime int8"}
    assert record["int8_accuracy"]["label_agreement"] >= 0.95
    assert record["peak_gflops"] > 0 and record["flops_per_sample"] > 0
    assert all(r["peak_fraction"] is None for r in record["rows"] if "int8" in r["runtime"])
    assert record["machine"]["cpus"] >= 1


def test_export_quantize_int8_writes_weights_with_their_own_metadata(tmp_path):
    from zoo.cli.app import app
    from zoo.weights import WeightsMeta

    ref = digits_ref()
    shutil.copy(ref.onnx, tmp_path / "digits-cnn.onnx")
    shutil.copy(ref.onnx.with_suffix(".json"), tmp_path / "digits-cnn.json")
    out = tmp_path / "digits-cnn-int8.onnx"
    result = CliRunner().invoke(app, ["export", str(tmp_path / "digits-cnn.onnx"), "--quantize",
                                      "int8", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    meta = WeightsMeta.from_file(out.with_suffix(".json"))
    assert meta.sha256 == sha256_file(out) != ref.meta.sha256
    assert meta.name == "digits-cnn-int8"
    assert meta.extra["quantized_from"]["sha256"] == ref.meta.sha256
    assert meta.extra["int8_loss"]["unit"] == "pp" and abs(meta.extra["int8_loss"]["value"]) < 3.0
    assert meta.metrics["accuracy"] > 0.9
    assert meta.extra["quantization"]["float32_nodes"]  # the 1-channel first conv stayed float
    # The written weight set loads through the normal predictor path.
    from zoo.predictor import Predictor

    pred = Predictor(get_task("digits"), out, device="cpu")
    assert len(pred.predict_arrays(np.zeros((3, 8, 8, 1), np.float32))) == 3
    # A second export without --force refuses to overwrite.
    again = CliRunner().invoke(app, ["export", str(tmp_path / "digits-cnn.onnx"), "--quantize",
                                     "int8", "-o", str(out)])
    assert again.exit_code == 1 and "exists" in again.output


def test_export_quantize_refuses_an_unknown_scheme(tmp_path):
    from zoo.cli.app import app

    ref = digits_ref()
    result = CliRunner().invoke(app, ["export", str(ref.onnx), "--quantize", "int4", "-o",
                                      str(tmp_path / "q.onnx")])
    assert result.exit_code == 1 and "int4" in result.output
