"""The library under every command: zoo.evaluate, zoo.export, zoo.quantize, zoo.bench,
zoo.kfold, zoo.tune and zoo.train, importable without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import zoo

COMMANDS = ("bench", "evaluate", "export", "kfold", "quantize", "train", "tune")


def test_import_zoo_exposes_every_command_without_tensorflow():
    code = (f"import sys, zoo; fns = [getattr(zoo, n) for n in {COMMANDS!r}]; "
            "assert all(callable(f) for f in fns); "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert set(COMMANDS) <= set(dir(zoo)) and set(COMMANDS) <= set(zoo.__all__)
    with pytest.raises(AttributeError):
        zoo.not_a_command  # noqa: B018


def test_evaluate_measures_shipped_weights_and_writes_the_report(tmp_path):
    report = zoo.evaluate("digits", "digits-cnn", out=tmp_path)
    assert report["name"] == "digits-cnn" and report["n"] > 300
    assert report["metrics"]["accuracy"] > 0.9 and report["baseline"]["accuracy"] > 0.9
    assert json.loads((tmp_path / "eval.json").read_text())["metrics"] == report["metrics"]


def test_bench_returns_the_record_it_measured():
    pytest.importorskip("onnx")  # FLOPs are counted from the graph with onnx (train extra)
    record = zoo.bench("digits", batch_sizes=[1, 8], min_time=0.02, rounds=1, keras=False,
                       int8=False)
    assert record["weights"] == "digits-cnn" and record["flops_per_sample"] > 0
    assert {(r["runtime"], r["batch_size"]) for r in record["rows"]} == {
        ("onnxruntime fp32", 1), ("onnxruntime fp32", 8)}
    assert all(r["images_per_s"] > 0 for r in record["rows"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("keras")
    return zoo.train("digits", "dense", tmp_path_factory.mktemp("run"),
                     recipe_overrides={"epochs": 2}, progress=False)


def test_export_and_quantize_a_trained_run(run, tmp_path):
    written = zoo.export(run.out / "model.keras", tmp_path / "d.onnx")
    assert written["max_abs_diff"] <= 1e-4
    assert json.loads((tmp_path / "d.json").read_text())["name"] == "d"
    with pytest.raises(zoo.errors.ZooError, match="exists; pass --force"):
        zoo.export(run.out / "model.keras", tmp_path / "d.onnx")
    report = zoo.quantize(tmp_path / "d.onnx", tmp_path / "d-int8.onnx", calibration=50,
                          max_drop=100)
    assert report["metric"] == "accuracy" and report["output"] == str(tmp_path / "d-int8.onnx")
    meta = json.loads((tmp_path / "d-int8.json").read_text())
    assert meta["extra"]["quantized_from"]["name"] == "d"


def test_kfold_returns_the_averaged_curve():
    pytest.importorskip("keras")
    report = zoo.kfold("digits", "dense", k=2, recipe_overrides={"epochs": 1})
    assert report["k"] == 2 and len(report["folds"]) == 2 and len(report["average_curve"]) == 1
