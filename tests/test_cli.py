"""The Typer CLI end to end with CliRunner; and that predicting never imports TensorFlow."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from core_helpers import write_bad_files, write_digit_pngs
from typer.testing import CliRunner

from zoo.cli.app import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_shows_tasks_architectures_and_weights():
    result = invoke("list")
    assert result.exit_code == 0
    assert "digits" in result.output and "digits-cnn" in result.output


def test_info_describes_digits():
    result = invoke("info", "digits", "--json")
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["inputs"][0]["shape"] == [8, 8, 1]
    assert {"cnn", "dense"} <= set(info["architectures"])
    assert info["weights"][0]["command"].startswith("zoo train digits")


def test_predict_prints_class_and_probability(tmp_path):
    (path, label), = write_digit_pngs(tmp_path, 1)
    result = invoke("predict", "digits", str(path))
    assert result.exit_code == 0
    cells = "".join(c for c in result.output if c not in " \n│")  # a long key may fold
    assert path.name in cells and f" {label} " in result.output


def test_predict_writes_json_and_csv_with_top_k(tmp_path):
    files = write_digit_pngs(tmp_path / "in", 5)
    out_json, out_csv = tmp_path / "p.json", tmp_path / "p.csv"
    assert invoke("predict", "digits", str(tmp_path / "in"), "--format", "json", "-o", str(out_json),
                  "--top-k", "3").exit_code == 0
    rows = json.loads(out_json.read_text())
    assert len(rows) == 5 and all(len(r["top"]) == 3 for r in rows)
    assert invoke("predict", "digits", str(tmp_path / "in" / "*.png"), "--format", "csv",
                  "-o", str(out_csv)).exit_code == 0
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["key"] for r in rows) == sorted(str(p) for p, _ in files)
    assert {r["weights"] for r in rows} == {"digits-cnn"} and "top" not in rows[0]


def test_csv_rows_stream_as_they_come_failed_rows_first_included(tmp_path, capsys):
    """The header is known before any row, so a failed row is written when it comes, not
    held until a first success; every row has the same columns, notes in one of them."""
    from zoo.cli.output import Sink, csv_columns
    from zoo.predictor import Prediction, load

    columns = csv_columns(load("cluster-mass", device="cpu").result_keys(), top_k=1)
    assert columns == ["key", "log10_M500", "sigma_dex", "M500_Msun", "ood", "ood_flag",
                       "notes", "weights", "error"]
    sink = Sink("csv", None, verbose=False, columns=columns)
    sink.add(Prediction("bad.npz", error="bad.npz: not a map"))
    assert capsys.readouterr().out.splitlines() == [",".join(columns),
                                                    "bad.npz,,,,,,,,bad.npz: not a map"]
    sink.add(Prediction("a.npz", {"log10_M500": 14.5, "sigma_dex": 0.2, "M500_Msun": 3e14},
                        weights="w", notes={"redshift": 0.3, "note": "z outside the range"}))
    sink.close()
    (row,) = csv.DictReader([",".join(columns), *capsys.readouterr().out.splitlines()])
    assert row["notes"] == "redshift=0.3; note=z outside the range" and row["ood"] == ""
    assert (row["log10_M500"], row["weights"], row["error"]) == ("14.5", "w", "")


def test_bad_files_fail_with_one_line_each_and_non_zero_exit(tmp_path):
    (good, _), = write_digit_pngs(tmp_path, 1)
    bad = write_bad_files(tmp_path / "bad", good)
    result = invoke("predict", "digits", str(good), str(bad["truncated"]), str(bad["missing"]))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "truncated.png: corrupt or truncated image" in result.output
    assert "missing.png: no such file" in result.output
    assert "2 of 3 samples failed" in result.output


def test_failed_run_leaves_an_existing_output_untouched(tmp_path):
    out = tmp_path / "keep.json"
    out.write_text("precious\n")
    result = invoke("predict", "digits", str(tmp_path / "missing.png"), "--format", "json",
                    "-o", str(out))
    assert result.exit_code == 1
    assert out.read_text() == "precious\n"  # a run that predicted nothing replaces nothing
    assert "left as it was" in result.output


def test_unknown_task_and_architecture_list_valid_names(tmp_path):
    result = invoke("predict", "digitz", "x.png")
    assert result.exit_code == 1 and "valid:" in result.output and "digits" in result.output
    result = invoke("predict", "digits", "x.png", "--arch", "vit")
    assert result.exit_code == 1 and "cnn" in result.output


def test_bench_reports_onnxruntime_and_keras_and_writes_json(tmp_path):
    pytest.importorskip("keras")  # the Keras column needs the train extra
    out = tmp_path / "bench.json"
    result = invoke("bench", "digits", "--batch-sizes", "1,32", "--min-time", "0.05",
                    "--json", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert {r["batch_size"] for r in rows if r["runtime"].startswith("onnxruntime")} == {1, 32}
    assert all(r["images_per_s"] > 0 for r in rows)


@pytest.mark.slow
def test_train_eval_export_round_trip(tmp_path):
    pytest.importorskip("keras")
    run = tmp_path / "d1"
    result = invoke("train", "digits", "--arch", "cnn", "--epochs", "2", "--out", str(run))
    assert result.exit_code == 0, result.output
    meta = json.loads((run / "model.json").read_text())
    assert meta["recipe"]["epochs"] == 2
    result = invoke("eval", "digits", "--weights", str(run))
    assert result.exit_code == 0 and "accuracy" in result.output
    assert json.loads((run / "eval.json").read_text())["metrics"]["accuracy"] == pytest.approx(
        meta["metrics"]["accuracy"], abs=1e-6)
    result = invoke("export", str(run / "model.keras"), "-o", str(tmp_path / "again.onnx"))
    assert result.exit_code == 0 and (tmp_path / "again.onnx").exists()
    result = invoke("export", str(run / "model.keras"), "-o", str(tmp_path / "again.onnx"))
    assert result.exit_code == 1 and "--force" in result.output


def test_export_rejects_a_file_that_is_not_a_keras_model(tmp_path):
    pytest.importorskip("keras")
    bogus = tmp_path / "bogus.keras"
    bogus.write_text("nope")
    result = invoke("export", str(bogus), "-o", str(tmp_path / "x.onnx"))
    assert result.exit_code == 1 and "not a loadable Keras model" in result.output
    assert not (tmp_path / "x.onnx").exists()


NO_TF_SCRIPT = """
import sys
import zoo
from typer.testing import CliRunner
from zoo.cli.app import app
result = CliRunner().invoke(app, ["predict", "digits", sys.argv[1]])
assert result.exit_code == 0, result.output
print(zoo.load("digits").predict([sys.argv[1]])[0].result["label"])
bad = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx")]
assert not bad, bad
"""


def test_import_and_predict_never_import_tensorflow(tmp_path):
    (path, label), = write_digit_pngs(tmp_path, 1)
    done = subprocess.run([sys.executable, "-c", NO_TF_SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
