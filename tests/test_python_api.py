"""The Python surface users of timm and torchvision expect: list_models patterns, list_weights,
create_model(..., pretrained=True), and a predictor callable on paths, arrays and PIL images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from core_helpers import write_digit_pngs
from PIL import Image
from typer.testing import CliRunner

import zoo
from zoo.cli.app import app
from zoo.errors import UnknownNameError, WeightsError


def test_list_models_takes_glob_patterns_like_timm():
    cnns = zoo.list_models("*cnn*")
    assert {"digits/cnn", "glitch/deep-cnn", "glitch-chirp/small-cnn"} <= set(cnns)
    assert all("cnn" in name for name in cnns)
    assert zoo.list_models("digits") == ["digits/cnn", "digits/dense"] == zoo.list_models("digits/*")
    assert zoo.list_models("no-such-*") == []
    assert zoo.list_models(task="digits") == ["cnn", "dense"]
    with pytest.raises(UnknownNameError, match="digits"):
        zoo.list_models(task="digitz")


def test_list_weights_gives_versioned_weight_sets():
    every = zoo.list_weights()
    assert {"digits-cnn.v1", "digits-dense.v1"} <= {w.tag for w in every}
    assert any(w.tag.startswith("glitch-multiview.v") for w in every)
    digits = zoo.list_weights("digits")
    assert {w.meta.arch for w in digits} == {"cnn", "dense"}
    assert all(isinstance(w, zoo.WeightSet) and w.onnx.is_file() for w in digits)
    assert repr(digits[0]).startswith("WeightSet('digits-cnn.v")


def test_predictor_is_callable_on_paths_arrays_and_images(tmp_path):
    model = zoo.load("digits")
    assert repr(model).startswith("Predictor(task='digits', weights='digits-cnn.v")
    files = write_digit_pngs(tmp_path, 4)
    paths = [str(p) for p, _ in files]
    from_files = [p.result["label"] for p in model(paths)]
    assert from_files == [str(y) for _, y in files]
    one = model(paths[0])
    assert isinstance(one, zoo.Prediction) and one.result["label"] == from_files[0]
    images = [Image.open(p) for p in paths]
    assert [p.result["label"] for p in model(images)] == from_files
    assert model(images[0]).key == "image[0]"
    pixels = [np.asarray(im) for im in images]  # raw 8x8 uint8 images: read like the files
    assert [p.result["label"] for p in model(pixels)] == from_files
    task = zoo.get_task("digits")
    prepared = np.stack([task.read(s, {})["image"] for s in task.samples(paths, {})])
    batch = model(prepared)  # model inputs (N, 8, 8, 1): no reading at all
    assert [p.result["label"] for p in batch] == from_files
    assert model(prepared[0]).result == batch[0].result
    assert [p.result for p in model(list(prepared))] == [p.result for p in batch]


def test_a_failing_item_is_reported_in_place(tmp_path):
    model = zoo.load("digits")
    good = str(write_digit_pngs(tmp_path, 1)[0][0])
    preds = model([Image.open(good), str(tmp_path / "missing.png"), good])
    assert [p.ok for p in preds] == [True, False, True]
    assert "missing.png" in preds[1].error
    with pytest.raises(zoo.errors.ZooError, match="cannot predict a dict"):
        model([{"not": "an image"}])


@pytest.mark.parametrize("task", ["digits", "glitch"])
def test_an_empty_input_name_is_refused_not_read_as_this_folder(tmp_path, monkeypatch, task):
    """Path("") is "."; an empty name from an unset variable must not predict the cwd."""
    write_digit_pngs(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(zoo.errors.ZooError, match="empty input name"):
        zoo.load(task).predict([""])


def test_create_model_pretrained_needs_shipped_keras_weights():
    pytest.importorskip("keras")
    with pytest.raises(WeightsError, match="ship no Keras weights"):
        zoo.create_model("glitch-chirp", pretrained=True, weights="glitch-chirp-int8")
    with pytest.raises(WeightsError, match="not 'dense'"):
        zoo.create_model("digits", "dense", pretrained=True, weights="digits-cnn")


@pytest.mark.parametrize("arch", ["cnn", "dense"])
def test_create_model_pretrained_reproduces_the_shipped_onnx(arch):
    pytest.importorskip("keras")
    found = zoo.resolve("digits", "default", arch)
    if found.keras_weights is None:
        pytest.skip(f"{found.tag} ships no .weights.h5")
    net = zoo.create_model("digits", arch, pretrained=True)
    x = zoo.get_task("digits").load_data(None, seed=0).test.x["image"][:16]
    keras_probs = np.asarray(net.predict(x, verbose=0))
    onnx_probs = np.array([[t["probability"] for t in sorted(r["top"], key=lambda t: t["label"])]
                           for r in zoo.load("digits", weights=found.tag).predict_arrays(x, top_k=10)])
    np.testing.assert_allclose(keras_probs, onnx_probs, atol=1e-4)


def test_zoo_info_shows_the_model_card():
    result = CliRunner().invoke(app, ["info", "digits"])
    assert result.exit_code == 0 and "Model card: digits" in result.output
    data = json.loads(CliRunner().invoke(app, ["info", "glitch-chirp", "--json"]).output)
    assert data["card"].startswith("# Model card")
    assert data["weights"][0]["tag"] == zoo.list_weights("glitch-chirp")[0].tag
    assert "Model card" not in CliRunner().invoke(app, ["info", "digits", "--no-card"]).output
