"""Training through the recipe writes a complete, reloadable run folder."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")

import zoo  # noqa: E402
from zoo.training import fit  # noqa: E402
from zoo.weights import sha256_file  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return fit("digits", "dense", out, recipe_overrides={"epochs": 3}, command="zoo train digits",
               progress=False)


def test_briefly_trained_model_beats_chance(run):
    assert run.metrics["accuracy"] > 0.5  # chance is 0.1


def test_run_folder_is_complete_and_consistent(run):
    names = {p.name for p in run.out.iterdir()}
    assert {"model.keras", "model.onnx", "model.json", "metrics.json", "history.csv",
            "history.png", "confusion_matrix.png"} <= names
    meta = json.loads((run.out / "model.json").read_text())
    assert meta["sha256"] == sha256_file(run.out / "model.onnx")
    assert meta["recipe"]["epochs"] == 3 and meta["command"] == "zoo train digits"
    assert meta["data_source"]["type"] == "sklearn.datasets.load_digits"


def test_run_folder_loads_as_weights(run):
    predictor = zoo.load("digits", weights=str(run.out))
    assert predictor.model.meta.arch == "dense"


def test_interrupted_training_resumes_from_its_checkpoint(tmp_path):
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit("digits", "dense", tmp_path, recipe_overrides={"epochs": 4}, progress=False,
            extra_callbacks=[Interrupt()])
    assert (tmp_path / "checkpoint").is_dir() and not (tmp_path / "model.onnx").exists()
    resumed = fit("digits", "dense", tmp_path, recipe_overrides={"epochs": 4}, progress=False)
    assert resumed.resumed_from == 2  # epochs 3 and 4 only were trained again
    lines = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "2", "3"]
    # the whole history is recorded, not only the resumed part
    assert len(resumed.history["loss"]) == 4 and resumed.meta.extra["epochs_run"] == 4
    saved = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert len(saved["val_loss"]) == 4
