"""Registry lookups, recipes and weights metadata."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo.errors import UnknownNameError, WeightsError
from zoo.registry import get_architecture
from zoo.task import Recipe
from zoo.weights import list_weights, resolve


def test_digits_is_registered_with_architectures():
    assert "digits" in zoo.list_tasks()
    assert {"cnn", "dense"} <= set(zoo.list_models(task="digits"))
    assert "digits/cnn" in zoo.list_models()


def test_unknown_task_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        zoo.get_task("digitz")
    assert "digits" in str(err.value) and "digitz" in str(err.value)


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(UnknownNameError, match="cnn, dense"):
        get_architecture("digits", "transformer")


def test_recipe_override_coerces_cli_strings_and_keeps_unknown_keys():
    recipe = Recipe(epochs=10, learning_rate=1e-3, augmentation=())
    new = recipe.override(epochs="3", learning_rate="0.5", augmentation="flip,rot90", momentum="0.9")
    assert (new.epochs, new.learning_rate, new.augmentation) == (3, 0.5, ("flip", "rot90"))
    assert new.extra["momentum"] == "0.9"
    assert recipe.epochs == 10  # the original is untouched
    assert Recipe.from_dict(json.loads(json.dumps(new.to_dict()))) == new


def test_shipped_digits_weights_carry_complete_metadata():
    refs = {r.meta.name: r for r in list_weights("digits")}
    meta = refs["digits-cnn"].meta
    assert meta.command.startswith("zoo train digits")
    assert meta.num_params > 0 and len(meta.sha256) == 64
    assert meta.classes == [str(i) for i in range(10)]
    assert meta.metrics["accuracy"] >= meta.baseline["accuracy"]  # beats SVC on the same split
    refs["digits-cnn"].verify()


def test_corrupt_weight_file_is_reported(tmp_path):
    ref = resolve("digits", "digits-cnn")
    bad = tmp_path / "model.onnx"
    bad.write_bytes(ref.onnx.read_bytes()[:-10] + b"0123456789")
    (tmp_path / "model.json").write_text(ref.meta.to_json())
    with pytest.raises(WeightsError, match="corrupt weight file"):
        zoo.load("digits", weights=str(tmp_path))


def test_unknown_weights_name_lists_shipped():
    with pytest.raises(UnknownNameError, match="digits-cnn"):
        resolve("digits", "nope")
