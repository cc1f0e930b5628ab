"""Textbook tasks without TensorFlow: Keras cache-format loaders, text encoding, file reading,
clear errors for missing or bad files, and class balancing by augmentation."""

from __future__ import annotations

import gzip
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import textbook_helpers as helpers  # noqa: E402

from zoo.augment import balance  # noqa: E402
from zoo.errors import InputError  # noqa: E402
from zoo.io import keras_datasets as kd  # noqa: E402
from zoo.registry import get_task  # noqa: E402
from zoo.task import Sample  # noqa: E402


@pytest.fixture(autouse=True)
def empty_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Keras' cache at an empty folder so a real ~/.keras never leaks in."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def load(task: str, data: Path | None, **options):
    return get_task(task).load_data(None if data is None else str(data), 0, download=False,
                                    **options)


def test_mnist_npz_from_file_and_folder(tmp_path: Path) -> None:
    path = helpers.write_mnist(tmp_path, n_train=40, n_test=20)
    for given in (path, tmp_path):
        data = load("mnist", given)
        assert data.train.x["image"].shape[1:] == (28, 28, 1)
        assert len(data.train) + len(data.validation) == 40 and len(data.test) == 20
        assert data.train.x["image"].max() <= 1.0 and data.train.x["image"].dtype == np.float32
    assert data.source["type"] == "keras.datasets.mnist" and data.source["simulated"] is False
    assert len(data.source["files"]["mnist.npz"]["sha256"]) == 64
    with np.load(path) as raw:
        np.testing.assert_array_equal(data.test.y, raw["y_test"])
        np.testing.assert_allclose(data.test.x["image"][..., 0], raw["x_test"] / 255.0, atol=1e-7)


def test_validation_is_seeded_holdout(tmp_path: Path) -> None:
    helpers.write_mnist(tmp_path, n_train=40)
    a, b, c = load("mnist", tmp_path), load("mnist", tmp_path), get_task("mnist").load_data(
        str(tmp_path), 1, download=False)
    np.testing.assert_array_equal(a.validation.ids, b.validation.ids)
    assert not np.array_equal(a.validation.ids, c.validation.ids)
    assert set(a.train.ids).isdisjoint(a.validation.ids)


def test_keras_cache_is_used_when_no_data(empty_keras_home: Path) -> None:
    helpers.write_mnist(empty_keras_home / "datasets")
    helpers.write_fashion_mnist(empty_keras_home / "datasets")
    assert len(load("mnist", None).test) == 20
    assert len(load("fashion-mnist", None).test) == 20


def test_fashion_cifar_boston_loaders(tmp_path: Path) -> None:
    fashion = load("fashion-mnist", helpers.write_fashion_mnist(tmp_path / "f").parent)
    assert fashion.train.x["image"].shape[1:] == (28, 28, 1) and len(fashion.test) == 20
    cifar_dir = helpers.write_cifar10(tmp_path / "c", per_batch=8)
    for given in (cifar_dir, cifar_dir.parent):
        cifar = load("cifar10", given)
        assert len(cifar.train) + len(cifar.validation) == 40 and len(cifar.test) == 8
        assert len(cifar.validation) == 8  # the book's validation_split=0.2
    # channels-last reshaping of the (N, 3072) rows: the bright square of label 0 at top left
    img = cifar.test.x["image"][0]
    assert img.shape == (32, 32, 3) and img[3, 3].min() == 1.0
    boston = load("boston-housing", helpers.write_boston(tmp_path / "b", n=50))
    assert boston.train.x["features"].shape[1:] == (13,)
    assert len(boston.test) == 10 and len(boston.train) + len(boston.validation) == 40


def test_boston_split_matches_keras_rule(tmp_path: Path) -> None:
    path = helpers.write_boston(tmp_path, n=50)
    with np.load(path) as raw:
        x, y = raw["x"], raw["y"]
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    (x_train, _), (x_test, y_test) = kd.read_boston_housing({"boston_housing.npz": path})
    np.testing.assert_array_equal(x_test, x[order][40:])
    np.testing.assert_array_equal(y_test, y[order][40:])
    assert len(x_train) == 40


def test_imdb_follows_keras_index_conventions(tmp_path: Path) -> None:
    path = helpers.write_imdb(tmp_path, n_train=24, n_test=12)
    with np.load(path, allow_pickle=True) as raw:
        x_train, y_train = raw["x_train"], raw["y_train"]
    (seqs, labels), _ = kd.read_imdb({"imdb.npz": path}, num_words=6)
    order = np.arange(24)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(labels, y_train[order])
    expected = [1] + [w + 3 if w + 3 < 6 else 2 for w in x_train[order[0]]]
    assert seqs[0] == expected
    data = load("imdb", path)
    assert data.train.x["multi_hot"].shape[1:] == (10000,)
    assert len(data.validation) == round(24 * 0.4)  # the book's first 10,000 of 25,000
    row = data.validation.x["multi_hot"][0]
    assert row[1] == 1 and set(np.flatnonzero(row)) == set(kd.read_imdb(
        {"imdb.npz": path})[0][0][0])


def test_reuters_split_and_labels(tmp_path: Path) -> None:
    data = load("reuters", helpers.write_reuters(tmp_path, n=60))
    assert len(data.test) == 12 and len(data.train) + len(data.validation) == 48
    assert get_task("reuters").classes[3] == "earn" and len(get_task("reuters").classes) == 46


def test_text_encoding_and_read(tmp_path: Path) -> None:
    index = {"this": 11, "film": 2, "was": 3, "wonderful": 6, "don't": 20}
    assert kd.tokenize("This film -- was WONDERFUL!! Don't.") == [
        "this", "film", "was", "wonderful", "don't"]
    assert kd.encode("This film was wonderful, unknownword", index, 10000) == [1, 14, 5, 6, 9, 2]
    assert kd.encode("this", index, 10) == [1, 2]  # rank 11 + 3 >= num_words -> OOV
    word_index = tmp_path / "imdb_word_index.json"
    word_index.write_text(json.dumps(index))
    task = get_task("imdb")
    review = tmp_path / "review.txt"
    review.write_text("What a wonderful film")
    samples = list(task.samples(["this film was wonderful", str(review)], {}))
    assert [s.group for s in samples] == ["text", "single"]
    arrays = task.read(samples[0], {"word_index": str(word_index)})
    assert arrays["multi_hot"].dtype == np.float32
    assert set(np.flatnonzero(arrays["multi_hot"])) == {1, 14, 5, 6, 9}
    assert arrays["_words"] == 4 and arrays["_known_words"] == 4
    from_file = task.read(samples[1], {"word_index": str(word_index)})
    assert set(np.flatnonzero(from_file["multi_hot"])) == {1, 2, 9, 5}


def test_text_read_errors(tmp_path: Path, empty_keras_home: Path) -> None:
    task = get_task("imdb")
    sample = next(iter(task.samples(["a fine film"], {})))
    with pytest.raises(InputError) as err:
        task.read(sample, {})
    expected = empty_keras_home / "datasets" / "imdb_word_index.json"
    assert str(err.value).startswith(f"{expected}: word index not found; put imdb_word_index.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="word index must be a JSON object"):
        task.read(sample, {"word_index": str(bad)})


def test_image_read(tmp_path: Path) -> None:
    mnist, cifar = get_task("mnist"), get_task("cifar10")
    digit = np.full((28, 28), 255, np.uint8)
    digit[5:20, 12:15] = 0  # dark stroke on white paper
    Image.fromarray(digit).save(tmp_path / "d.png")
    image = mnist.read(Sample("d", (str(tmp_path / "d.png"),)), {})["image"]
    assert image.shape == (28, 28, 1) and image[10, 13, 0] == 1.0 and image[0, 0, 0] == 0.0
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match="image is 32x32, mnist needs 28x28"):
        mnist.read(Sample("b", (str(tmp_path / "big.png"),)), {})
    rgb = cifar.read(Sample("b", (str(tmp_path / "big.png"),)), {})["image"]
    assert rgb.shape == (32, 32, 3)


def test_boston_read(tmp_path: Path) -> None:
    task = get_task("boston-housing")
    row = "0.00632,18,2.31,0,0.538,6.575,65.2,4.09,1,296,15.3,396.9,4.98"
    csv = tmp_path / "houses.csv"
    csv.write_text("CRIM,ZN,INDUS,CHAS,NOX,RM,AGE,DIS,RAD,TAX,PTRATIO,B,LSTAT\n" + row + "\n"
                   + row.replace(",", " ") + "\n")
    samples = list(task.samples([row, str(csv)], {}))
    assert [s.key for s in samples] == [row, f"{csv}:2", f"{csv}:3"]
    for s in samples:
        np.testing.assert_allclose(task.read(s, {})["features"][5], 6.575, rtol=1e-6)
    with pytest.raises(InputError, match="expected 13 numbers"):
        task.read(Sample("x", ("1,2,3",), "text"), {})


def test_missing_data_names_file_and_folder(tmp_path: Path, empty_keras_home: Path) -> None:
    cache = empty_keras_home / "datasets"
    with pytest.raises(InputError) as err:
        load("mnist", None)
    assert str(err.value).startswith(f"{cache / 'mnist.npz'}: not found (not downloaded); "
                                     f"put mnist.npz (Keras' cache format")
    assert f"into {cache}/ or pass --data" in str(err.value)
    with pytest.raises(InputError) as err:
        load("fashion-mnist", None)
    assert "fashion-mnist/{train-images-idx3-ubyte.gz" in str(err.value)
    with pytest.raises(InputError, match="missing data_batch_1, .*test_batch"):
        load("cifar10", tmp_path)
    with pytest.raises(InputError, match="no such file or folder"):
        load("imdb", tmp_path / "nope.npz")
    with pytest.raises(InputError, match="cifar10 needs a folder"):
        load("cifar10", helpers.write_mnist(tmp_path))


def test_bad_files_give_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "mnist.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"mnist.npz: not a valid .npz file"):
        load("mnist", junk)
    wrong = tmp_path / "w" / "mnist.npz"
    wrong.parent.mkdir()
    np.savez(wrong, x=np.zeros((2, 28, 28)))
    with pytest.raises(InputError, match="missing array 'x_train'"):
        load("mnist", wrong)
    shape = tmp_path / "s" / "mnist.npz"
    shape.parent.mkdir()
    np.savez(shape, x_train=np.zeros((4, 8, 8)), y_train=np.zeros(4), x_test=np.zeros((2, 8, 8)),
             y_test=np.zeros(2))
    with pytest.raises(InputError, match=r"x_train has shape \(4, 8, 8\), expected \(N, 28, 28\)"):
        load("mnist", shape)
    labels = tmp_path / "l" / "mnist.npz"
    labels.parent.mkdir()
    np.savez(labels, x_train=np.zeros((4, 28, 28)), y_train=np.array([0, 1, 2, 12]),
             x_test=np.zeros((2, 28, 28)), y_test=np.zeros(2))
    with pytest.raises(InputError, match=r"labels must lie in 0..9, found 0..12"):
        load("mnist", labels)
    fashion = helpers.write_fashion_mnist(tmp_path / "f")
    with gzip.open(fashion / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x01rubbish")
    with pytest.raises(InputError, match="not an IDX file"):
        load("fashion-mnist", fashion)


def test_malicious_pickles_are_refused(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    cifar = helpers.write_cifar10(tmp_path)
    with open(cifar / "test_batch", "wb") as fh:
        pickle.dump({b"data": Exploit(), b"labels": []}, fh)
    with pytest.raises(InputError, match="refusing to load builtins.print"):
        load("cifar10", cifar)
    imdb = tmp_path / "imdb.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = Exploit()
    np.savez(imdb, x_train=evil, y_train=np.zeros(1), x_test=evil, y_test=np.zeros(1))
    with pytest.raises(InputError, match="unsafe .npz member"):
        load("imdb", imdb)


def test_balance_by_augmentation() -> None:
    """Seed 004 section 11.2: minority classes topped up with flips/rotations of their own
    images until every class is as large as the largest."""
    rng = np.random.default_rng(0)
    x = rng.random((13, 6, 6, 1)).astype(np.float32)
    y = np.array([0] * 10 + [1] * 3)
    out, labels, origin = balance({"image": x}, y, np.random.default_rng(1), "image")
    assert np.bincount(labels).tolist() == [10, 10]
    np.testing.assert_array_equal(out["image"][:13], x)
    np.testing.assert_array_equal(labels, y[origin])
    for image, src in zip(out["image"][13:], origin[13:], strict=True):
        assert y[src] == 1
        variants = [np.rot90(v, k, axes=(0, 1)) for v in (x[src], x[src][::-1], x[src][:, ::-1],
                                                          x[src][::-1, ::-1]) for k in range(4)]
        assert any(np.array_equal(image, v) for v in variants)
