"""The whole path through the CLI on tiny Keras-format files: train -> run folder with curves
and confusion matrix -> predict text with the word index; K-fold; clear missing-data errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")
from typer.testing import CliRunner  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import textbook_helpers as helpers  # noqa: E402

from zoo.cli.app import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(autouse=True)
def empty_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def zoo(*args: str):
    result = runner.invoke(app, list(args))
    return result, result.output + (getattr(result, "stderr", "") or "")


def test_list_shows_recipe_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result, text = zoo("list", "*mnist*")
    assert result.exit_code == 0, text
    assert "fashion-mnist" in text and "recipe only" in text


def test_missing_data_says_which_file_where(empty_keras_home: Path) -> None:
    result, text = zoo("train", "boston-housing", "--epochs", "1")
    assert result.exit_code == 1
    cache = empty_keras_home / "datasets"
    assert f"{cache}/boston_housing.npz: not found" in text
    assert "download through keras.datasets failed" in text or "Keras is not installed" in text
    assert "put boston_housing.npz (Keras' cache format, from https://" in text
    assert "Traceback" not in text


def test_train_mnist_cnn_with_balancing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = helpers.write_mnist(data, n_train=60, n_test=20)
    with np.load(path) as raw:  # make class 0 rare: an imbalanced image set
        arrays = dict(raw)
    keep = np.r_[np.flatnonzero(arrays["y_train"] != 0), np.flatnonzero(arrays["y_train"] == 0)[:2]]
    arrays["x_train"], arrays["y_train"] = arrays["x_train"][keep], arrays["y_train"][keep]
    np.savez(path, **arrays)
    out = tmp_path / "run"
    result, text = zoo("train", "mnist", "--arch", "cnn", "--data", str(data), "--epochs", "1",
                       "--out", str(out), "--augmentation", "balance")
    assert result.exit_code == 0, text
    for name in ("model.onnx", "model.json", "history.png", "confusion_matrix.png"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "model.json").read_text())
    assert meta["num_params"] == 62_346 and meta["data_source"]["type"] == "keras.datasets.mnist"
    assert meta["recipe"]["optimizer"] == "sgd" and meta["recipe"]["batch_size"] == 100
    assert meta["recipe"]["augmentation"] == ["balance"]
    assert meta["metrics"]["n"] == 20


def test_imdb_train_then_predict_text(tmp_path: Path) -> None:
    helpers.write_imdb(tmp_path / "data", n_train=24, n_test=12)
    out = tmp_path / "run"
    result, text = zoo("train", "imdb", "--data", str(tmp_path / "data" / "imdb.npz"),
                       "--epochs", "1", "--out", str(out))
    assert result.exit_code == 0, text
    assert (out / "history.png").is_file() and (out / "roc.png").is_file()
    word_index = tmp_path / "data" / "imdb_word_index.json"
    # task options follow the items; "--" keeps Click from parsing them as its own options
    result, text = zoo("predict", "imdb", "--weights", str(out), "--format", "json", "--",
                       "this film was wonderful", "an awful, boring plot",
                       "--word-index", str(word_index))
    assert result.exit_code == 0, text
    rows = json.loads(result.stdout)
    assert [r["key"] for r in rows] == ["this film was wonderful", "an awful, boring plot"]
    assert all(r["label"] in ("negative", "positive") and 0.5 <= r["probability"] <= 1
               for r in rows)
    result, text = zoo("predict", "imdb", "no index given", "--weights", str(out))
    assert result.exit_code == 1 and "imdb_word_index.json: word index not found" in text


def test_kfold_boston(tmp_path: Path) -> None:
    helpers.write_boston(tmp_path / "data", n=50)
    out = tmp_path / "kfold"
    result, text = zoo("kfold", "boston-housing", "--k", "3", "--data", str(tmp_path / "data"),
                       "--epochs", "3", "--out", str(out))
    assert result.exit_code == 0, text
    report = json.loads((out / "kfold.json").read_text())
    assert report["k"] == 3 and report["metric"] == "val_mae" and len(report["folds"]) == 3
    assert sum(f["n_val"] for f in report["folds"]) == report["n_samples"] == 40
    curves = np.array([f["history"]["val_mae"] for f in report["folds"]])
    np.testing.assert_allclose(report["average_curve"], curves.mean(axis=0), rtol=1e-6)
    assert (out / "kfold.png").stat().st_size > 1000
    result, text = zoo("kfold", "boston-housing", "--k", "3", "--data", str(tmp_path / "data"),
                       "--epochs", "1", "--metric", "nope", "--out", str(out))
    assert result.exit_code == 1 and "metric 'nope' not recorded; available: loss, mae" in text
